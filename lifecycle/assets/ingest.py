"""Ingestion assets: one per feed, partitioned by recorded date, ``raw/<feed>`` in the asset graph.

Each asset checks the append-only rule, parses and validates ``landing/<feed>/<D>.csv`` and
writes its raw and quarantine partitions; its two blocking checks (rows reconcile, GX suite on
the accepted rows) gate everything downstream, the warehouse build included.
"""


import json

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from lifecycle.checks.gx_suites import SuiteResult, validate_accepted_file
from lifecycle.contract import FEEDS, Feed
from lifecycle.io.ingest import BrokenFeedFile, IngestResult, ingest_file
from lifecycle.io.landing import LandingRefused, check_append_only, check_frozen_files, record_ingested
from lifecycle.partitions import DAILY
from lifecycle.resources import LifecycleHome, partition_date
from lifecycle.settings import Settings


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


def build_ingest_asset(contract: Feed):
    @asset(
        key=raw_asset_key(contract.name),
        partitions_def=DAILY,
        backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
        deps=[raw_asset_key(up) for up in contract.upstream_feeds],
        group_name="ingestion",
        description=f"{contract.description} Landing file parsed and validated against the feed contract.",
        check_specs=[
            AssetCheckSpec("rows_reconcile", asset=raw_asset_key(contract.name), blocking=True,
                           description="rows read = rows accepted + rows quarantined"),
            AssetCheckSpec("gx_contract", asset=raw_asset_key(contract.name), blocking=True,
                           description="Great Expectations suite generated from the contract, on the accepted rows"),
        ],
        metadata={"feed_kind": contract.kind, "key": ", ".join(contract.key)},
        kinds={"duckdb", "parquet"},
    )
    def ingest(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
        settings = lifecycle.settings()
        day = partition_date(context.partition_key)
        expected_missing = contract.name in settings.missing_feeds(day)
        if expected_missing:
            message = (f"{settings.landing_file(contract.name, day)}: the expected daily feed {contract.name} has not "
                       "landed")
            if settings.when_missing == "wait":
                context.log.error(message)
                raise Failure(description=f"{message}; the night waits for it ([feeds] when_missing = \"wait\")")
            context.log.warning(f"{message}; the night runs without it ([feeds] when_missing = \"warn\")")
        try:
            check_frozen_files(settings, contract.name, day)
            checksum = check_append_only(settings, contract.name, day)
            result = ingest_file(settings, contract.name, day)
        except (BrokenFeedFile, LandingRefused) as exc:
            context.log.error(str(exc))
            raise Failure(description=str(exc), metadata={"file": str(settings.landing_file(contract.name, day))}) from None
        record_ingested(settings, contract.name, day, checksum)
        # an empty batch has nothing to check (and no file for the date is the usual case for reference feeds)
        suite = (validate_accepted_file(contract, day, str(result.raw_path)) if result.rows_accepted
                 else SuiteResult(success=True, evaluated=0, failed=[], rows=0))
        extra = {"gx_success": suite.success, "gx_failed": suite.failed}
        if expected_missing:
            extra["expected_missing"] = True
        if result.control_totals:  # the migration load's control totals, matched (a mismatch raised above)
            extra["migration_control_totals"] = result.control_totals
        write_ingest_report(settings, result, extra)
        context.log.info(
            f"{contract.name} {day}: read {result.rows_read}, accepted {result.rows_accepted}, "
            f"quarantined {result.rows_quarantined} {result.quarantined_by_rule or ''}"
        )
        return MaterializeResult(
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
                AssetCheckResult(
                    check_name="rows_reconcile",
                    passed=result.reconciles,
                    severity=AssetCheckSeverity.ERROR,
                    metadata={"rows_read": result.rows_read, "rows_accepted": result.rows_accepted,
                              "rows_quarantined": result.rows_quarantined},
                ),
                AssetCheckResult(
                    check_name="gx_contract",
                    passed=suite.success,
                    severity=AssetCheckSeverity.ERROR,
                    metadata={"expectations": suite.evaluated, "rows": suite.rows,
                              "failed": MetadataValue.json(suite.failed)},
                ),
            ],
        )

    return ingest


INGEST_ASSETS = [build_ingest_asset(f) for f in FEEDS]
