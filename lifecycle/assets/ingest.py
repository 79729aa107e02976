"""Ingestion: every feed's landing file of the night in one step, ``raw/<feed>`` per feed in the asset graph.

For each feed, once the feeds it names are ingested (``INGEST_THREADS`` feeds at a time): check the
append-only rule, parse and validate ``landing/<feed>/<D>.csv``, write its raw and quarantine partitions, and
start the feed's Great Expectations suite in the suites' process, which checks one feed while this process
parses the next. A feed reads only its own file and the partitions of the feeds it names, so the order in
which independent feeds finish changes nothing they write; the step reports them in contract order. Each
feed's two blocking checks (rows reconcile, GX suite on the accepted rows) gate everything downstream, the
warehouse build included.

One step rather than one per feed: a step costs Dagster about a tenth of a second of events and bookkeeping, and
waiting for each suite before parsing the next feed cost as much again. A broken file still stops its own feed
and the feeds that name it, not the others: they are ingested and recorded, then the step fails naming every
broken feed (``BROKEN_FEEDS`` in the failure's metadata: feed → message), which stops the build.
"""

import json
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from lifecycle.checks.gx_suites import SuiteResult, SuiteRun, recycle_large_worker, submit_accepted_file
from lifecycle.contract import FEEDS, Feed
from lifecycle.io.ingest import BOUNDED_BYTES, BrokenFeedFile, IngestResult, ingest_file
from lifecycle.io.landing import LandingRefused, check_append_only, check_frozen_files, record_ingested
from lifecycle.partitions import DAILY
from lifecycle.resources import LifecycleHome, partition_date
from lifecycle.settings import Settings

#: the ingestion step's key in a run, and the key of its failure's metadata naming each broken feed
INGEST_STEP = "ingest_feeds"
BROKEN_FEEDS = "broken_feeds"

#: feeds ingested at once: DuckDB does a feed's work with the interpreter lock released, one thread a feed (a
#: feed's own queries run on one thread, which keeps its rows' order); two threads keep both cores busy. A landing
#: file past BOUNDED_BYTES is ingested alone: its split is held to twice its size, and two at once would hold both.
INGEST_THREADS = 2


def _big(settings: Settings, contract: Feed, day) -> bool:
    path = settings.landing_file(contract.name, day)
    return path.exists() and path.stat().st_size > BOUNDED_BYTES


def raw_asset_key(feed_name: str) -> AssetKey:
    return AssetKey(["raw", feed_name])


def write_ingest_report(settings: Settings, result: IngestResult, extra: dict) -> None:
    path = settings.state / "ingest" / result.recorded_date.isoformat() / f"{result.feed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "feed": result.feed, "recorded_date": result.recorded_date.isoformat(), "file": result.file,
        "rows_read": result.rows_read, "rows_accepted": result.rows_accepted,
        "rows_quarantined": result.rows_quarantined, "quarantined_by_rule": result.quarantined_by_rule, **extra,
    }
    path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _spec(contract: Feed) -> AssetSpec:
    return AssetSpec(
        key=raw_asset_key(contract.name),
        deps=[raw_asset_key(up) for up in contract.upstream_feeds],
        group_name="ingestion",
        description=f"{contract.description} Landing file parsed and validated against the feed contract.",
        metadata={"feed_kind": contract.kind, "key": ", ".join(contract.key)},
        kinds={"duckdb", "parquet"},
        skippable=True,  # a broken feed (and the feeds that name it) is not materialized; the others are
    )


def _check_specs(contract: Feed) -> list[AssetCheckSpec]:
    key = raw_asset_key(contract.name)
    return [
        AssetCheckSpec("rows_reconcile", asset=key, blocking=True,
                       description="rows read = rows accepted + rows quarantined"),
        AssetCheckSpec("gx_contract", asset=key, blocking=True,
                       description="Great Expectations suite generated from the contract, on the accepted rows"),
    ]


class _Broken(Exception):
    """A feed that cannot be ingested tonight: its file is broken or refused, or it has not landed and the night waits."""


def _ingest_feed(settings: Settings, contract: Feed, day) -> tuple[IngestResult, str | None]:
    """Ingest one feed's landing file of the night (in a worker thread: it logs nothing); returns what was
    ingested and, for an expected daily feed that has not landed, the warning to log."""
    warning = None
    if contract.name in settings.missing_feeds(day):
        message = (f"{settings.landing_file(contract.name, day)}: the expected daily feed {contract.name} has not "
                   "landed")
        if settings.when_missing == "wait":
            raise _Broken(f"{message}; the night waits for it ([feeds] when_missing = \"wait\")")
        warning = f"{message}; the night runs without it ([feeds] when_missing = \"warn\")"
    try:
        check_frozen_files(settings, contract.name, day)
        checksum = check_append_only(settings, contract.name, day)
        result = ingest_file(settings, contract.name, day)
    except (BrokenFeedFile, LandingRefused) as exc:
        raise _Broken(str(exc)) from None
    record_ingested(settings, contract.name, day, checksum)
    return result, warning


def _materialization(settings: Settings, result: IngestResult, suite: SuiteResult,
                     expected_missing: bool) -> MaterializeResult:
    extra = {"gx_success": suite.success, "gx_failed": suite.failed}
    if expected_missing:
        extra["expected_missing"] = True
    if result.control_totals:  # the migration load's control totals, matched (a mismatch raised above)
        extra["migration_control_totals"] = result.control_totals
    write_ingest_report(settings, result, extra)
    return MaterializeResult(
        asset_key=raw_asset_key(result.feed),
        metadata={
            "file": result.file or "(no file: nothing recorded for this date)",
            "rows_read": result.rows_read,
            "rows_accepted": result.rows_accepted,
            "rows_quarantined": result.rows_quarantined,
            "quarantined_by_rule": MetadataValue.json(result.quarantined_by_rule),
            "raw_path": MetadataValue.path(result.raw_path),
            "quarantine_path": MetadataValue.path(result.quarantine_path),
        },
        check_results=[
            _check(result.feed, "rows_reconcile", result.reconciles,
                   {"rows_read": result.rows_read, "rows_accepted": result.rows_accepted,
                    "rows_quarantined": result.rows_quarantined}),
            _check(result.feed, "gx_contract", suite.success,
                   {"expectations": suite.evaluated, "rows": suite.rows, "failed": MetadataValue.json(suite.failed)}),
        ],
    )


def _check(feed: str, name: str, passed: bool, metadata: dict) -> AssetCheckResult:
    return AssetCheckResult(asset_key=raw_asset_key(feed), check_name=name, passed=passed,
                            severity=AssetCheckSeverity.ERROR, metadata=metadata)


@multi_asset(
    name=INGEST_STEP,
    specs=[_spec(f) for f in FEEDS],
    check_specs=[spec for f in FEEDS for spec in _check_specs(f)],
    partitions_def=DAILY,
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
    can_subset=True,
)
def ingest_feeds(context: AssetExecutionContext, lifecycle: LifecycleHome):
    settings = lifecycle.settings()
    day = partition_date(context.partition_key)
    broken: dict[str, str] = {}
    stopped: set[str] = set()  # the broken feeds and the feeds that name one (directly or not)
    ingested: dict[str, tuple[IngestResult, bool, SuiteRun | None]] = {}
    todo = [c for c in FEEDS if raw_asset_key(c.name) in context.selected_asset_keys]  # contract order
    running: dict[Future, Feed] = {}
    with ThreadPoolExecutor(max_workers=INGEST_THREADS, thread_name_prefix="ingest") as pool:
        while todo or running:
            unfinished = {c.name for c in todo} | {c.name for c in running.values()}
            for contract in [c for c in todo if not set(c.upstream_feeds) & unfinished]:
                waiting = [up for up in contract.upstream_feeds if up in stopped]
                if waiting:
                    todo.remove(contract)
                    context.log.warning(f"{contract.name} {day}: not ingested, it names feed(s) not ingested "
                                        f"tonight: {', '.join(waiting)}")
                    stopped.add(contract.name)
                elif not running or (len(running) < INGEST_THREADS and not _big(settings, contract, day)
                                     and not any(_big(settings, c, day) for c in running.values())):
                    todo.remove(contract)
                    running[pool.submit(_ingest_feed, settings, contract, day)] = contract
            if not running:
                continue  # what was skipped may free the feeds that name it
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: FEEDS.index(running[f])):
                contract = running.pop(future)
                try:
                    result, warning = future.result()
                except _Broken as exc:
                    context.log.error(str(exc))
                    broken[contract.name] = str(exc)
                    stopped.add(contract.name)
                    continue
                if warning:
                    context.log.warning(warning)
                # an empty batch has nothing to check (and no file for the date is the usual case for reference
                # feeds)
                suite = submit_accepted_file(contract, day, str(result.raw_path)) if result.rows_accepted else None
                ingested[contract.name] = (result, warning is not None, suite)
                context.log.info(
                    f"{contract.name} {day}: read {result.rows_read}, accepted {result.rows_accepted}, "
                    f"quarantined {result.rows_quarantined} {result.quarantined_by_rule or ''}"
                )
    for contract in FEEDS:  # reported in contract order, however the threads finished
        if contract.name not in ingested:
            continue
        result, expected_missing, suite = ingested[contract.name]
        outcome = suite.result() if suite else SuiteResult(success=True, evaluated=0, failed=[], rows=0)
        yield _materialization(settings, result, outcome, expected_missing)
    if recycle_large_worker():
        context.log.info("the Great Expectations process held over 512 MiB after the suites: ended (the next "
                         "night starts another)")
    if broken:
        raise Failure(
            description="\n".join(f"raw/{feed}: {message}" for feed, message in broken.items()),
            metadata={BROKEN_FEEDS: MetadataValue.json(broken),
                      "files": MetadataValue.json({feed: str(settings.landing_file(feed, day)) for feed in broken})},
        )


INGEST_ASSETS = [ingest_feeds]
