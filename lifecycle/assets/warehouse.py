"""The warehouse: the night source, the dbt steps between the engines, the per-domain gates, the publication swap.

dbt is the only writer of tonight's build file, and runs in this process (lifecycle.io.dbt: one parse,
reused). The models are built in steps: a model is in the first step after every engine it reads
(``source('engine', ...)``), so a night is step 0 (staging and everything that needs no engine) → the chain
walk → step 1 → cash application → step 2 → stock allocation → step 3. No step runs tests. Then
``night_gates`` runs the data tests (the unit tests test the models' code: ``make test`` runs them, not the
night), sorts the failures into their domains (lifecycle.checks.gates), and puts each failing test on its
model's asset as an observation; ``published_warehouse`` swaps the build in only when every gate passed.
A model (or an engine) that fails does not stop the run: its failure is recorded for the gates of its domain
and the steps after it go on (what depended on it fails in turn), so the gates always judge the night and
the exports whose gates passed still go out.
"""


from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_dbt import dbt_assets

from lifecycle import failpoints
from lifecycle.assets import billing, fulfillment
from lifecycle.assets.dbt_project import TRANSLATOR, dbt_project, model_id, node_key, project_manifest
from lifecycle.assets.engines import FULL_REFRESH_TAG, Engine
from lifecycle.assets.ingest import raw_asset_key
from lifecycle.checks.gates import (
    DOMAINS,
    Gates,
    evaluate_dbt,
    ingest_warnings,
    node_domain,
    read_gates,
    write_gates,
)
from lifecycle.checks.gates import Failure as GateFailure
from lifecycle.contract import FEEDS
from lifecycle.io import dbt, register
from lifecycle.io.exports import audit_gl_files
from lifecycle.io.warehouse import (
    PublishError,
    audit_closed_periods,
    carried_seeds,
    last_published_date,
    publish,
    read_node_results,
    reset_build,
    write_node_results,
)
from lifecycle.partitions import DAILY
from lifecycle.resources import LifecycleHome, partition_date

ENGINES: tuple[Engine, ...] = (*billing.ENGINES, *fulfillment.ENGINES)
NIGHT_KEY = AssetKey(["pipeline", "night"])
_ONE_NIGHT = BackfillPolicy.multi_run(max_partitions_per_run=1)  # nights are stateful: never a date range


def _built_nodes(manifest: Mapping[str, Any]) -> list[str]:
    project = manifest["metadata"]["project_name"]
    return sorted(uid for uid, n in manifest["nodes"].items()
                  if n["resource_type"] in ("model", "seed") and n["package_name"] == project)


def engine_levels(steps: Mapping[int, list[str]], engines: Iterable[Engine]) -> dict[str, int]:
    """The dbt step each engine's output is first read in (``steps`` from ``build_steps``): one more than the
    latest step of the models it reads."""
    step_of = {uid: number for number, uids in steps.items() for uid in uids}
    return {e.name: 1 + max(step_of[model_id(name)] for name in e.inputs) for e in engines}


def build_steps(manifest: Mapping[str, Any], engines: Iterable[Engine]) -> dict[int, list[str]]:
    """The models and seeds of each dbt step: a node's step is the latest of its parents' steps, and one
    more than the step of any model an engine it reads depends on."""
    engines = {f"source.{manifest['metadata']['project_name']}.engine.{e.name}": e for e in engines}
    parents = {uid: manifest["nodes"][uid].get("depends_on", {}).get("nodes", []) for uid in _built_nodes(manifest)}

    @cache
    def step(uid: str) -> int:
        level = 0
        for parent in parents.get(uid, ()):
            if parent in engines:
                level = max(level, 1 + max(step(model_id(name)) for name in engines[parent].inputs))
            elif parent in parents:
                level = max(level, step(parent))
        return level

    steps: dict[int, list[str]] = {}
    for uid in parents:
        steps.setdefault(step(uid), []).append(uid)
    return dict(sorted(steps.items()))


def step_selection(number: int, levels: Mapping[str, int]) -> tuple[str, str]:
    """dbt's selection (select, exclude) of one whole step, by graph operators: what an engine of this step
    feeds, less what a later engine feeds (a node's step is the latest level of the engines upstream of it, 0
    for none). A few criteria instead of one per model: dbt matches every criterion against every node of the
    project, and by name that was a quarter of a build and a third of loading the definitions
    (tests/test_pipeline_config.py checks that the two selections agree)."""
    here = [f"source:engine.{name}+" for name, level in sorted(levels.items()) if level == number]
    later = [f"source:engine.{name}+" for name, level in sorted(levels.items()) if level > number]
    return (" ".join(here) if number else "fqn:*"), " ".join(later)


def selection_args(select: str, exclude: str) -> list[str]:
    return ["--select", *select.split(), *(["--exclude", *exclude.split()] if exclude else [])]


@asset(
    key=NIGHT_KEY,
    # after ingestion: the build starts from every feed's partition of the night (a broken feed stops it)
    deps=[raw_asset_key(f.name) for f in FEEDS],
    partitions_def=DAILY,
    backfill_policy=_ONE_NIGHT,
    group_name="warehouse",
    description="Starts tonight's build: settles what a killed night left in the export register, then "
    "build/warehouse.duckdb (empty, or a copy of the published warehouse holding only the carried models' tables "
    "and states, and the seed tables while the project is the one they were loaded from) and "
    "build/night.parquet, the one-row source('pipeline', 'night') holding the business date every model answers "
    "as of.",
    kinds={"parquet"},
)
def night(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    failpoints.reach("after_ingest")
    settings = lifecycle.settings()
    day = partition_date(context.partition_key)
    # first, settle what a killed night left: register rows staged for files that were, or were not, completed
    settled = register.recover(settings)
    for line in settled:
        context.log.warning(line)
    # the seed tables are carried too while the project (its seeds among its files) is the one they were loaded from
    parsed, _ = dbt.manifest(settings)
    seeds = {uid: (node.schema, node.alias) for uid, node in parsed.nodes.items() if node.resource_type == "seed"}
    carried = reset_build(settings, day, carry=context.run.tags.get(FULL_REFRESH_TAG) != "true", seeds=seeds,
                          seed_key=dbt.fingerprint(settings, parsing=True))
    return MaterializeResult(metadata={"business_date": day.isoformat(), "settled": len(settled),
                                       "carried_tables": MetadataValue.json(carried)})


#: the message of a seed's result when the build carried its table from the published warehouse
CARRIED_SEED = "carried from the published warehouse (loaded from the same project)"


def _step_asset(number: int, unique_ids: list[str], selection: tuple[str, str]) -> AssetsDefinition:
    names = {uid: project_manifest()["nodes"][uid]["name"] for uid in unique_ids}
    keys = {uid: node_key(uid) for uid in unique_ids}
    seed_ids = [uid for uid in unique_ids if uid.startswith("seed.")]

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=selection[0],
        exclude=selection[1],
        name=f"warehouse_step_{number}",
        partitions_def=DAILY,
        backfill_policy=_ONE_NIGHT,
        dagster_dbt_translator=TRANSLATOR,
    )
    def warehouse_step(context: AssetExecutionContext, lifecycle: LifecycleHome):
        settings = lifecycle.settings()
        selected = [uid for uid in unique_ids if keys[uid] in context.selected_asset_keys]
        whole = len(selected) == len(unique_ids)
        # the whole step by its graph selection; a subset (from the UI) by name
        chosen = selection_args(*selection) if whole else ["--select", *sorted(names[uid] for uid in selected)]
        # the seeds the build took from the published warehouse (reset_build) are not loaded again
        carried = ([dbt.NodeResult(uid, "success", None, CARRIED_SEED, 0.0) for uid in seed_ids]
                   if seed_ids and whole and set(seed_ids) <= carried_seeds(settings) else [])
        loading = bool(seed_ids) and not carried
        # nothing but seeds asks dbt's relation cache (the project's table materialization does not)
        cache = [] if loading else ["--no-populate-cache"]
        # `build` for a step with seeds to load; `run` for models alone (no test edges to add to dbt's graph: the
        # night's data tests run after the last step, unit tests in CI)
        command = (["build", "--exclude-resource-type", "test", "unit_test"] if loading else ["run"])
        invocation = dbt.invoke(settings, [*command, *chosen, *cache])
        invocation.results[:0] = carried
        write_node_results(settings, f"step_{number}", [r.as_dict() for r in invocation.results])
        if number == 1:
            failpoints.reach("mid_build")
        parse_seconds = round(invocation.parse_seconds, 2)
        # Every node is reported, built or not: a node that was not built must not skip the steps after it (and
        # with them the gates, which judge the night); its status says what happened, and the gates record it.
        for r in invocation.results:
            metadata: dict[str, Any] = {"seconds": round(r.seconds, 2), "dbt_status": r.status}
            if r.message == CARRIED_SEED:
                metadata["carried"] = True
            if r.status != "success":
                metadata["message"] = (r.message or r.status).strip()[:1000]
                context.log.error(f"dbt step {number}: {names.get(r.unique_id, r.unique_id)} {r.status}: "
                                  f"{metadata['message']}")
            if parse_seconds is not None:  # once per step: what parsing the project cost this step
                metadata["parse_seconds"], parse_seconds = parse_seconds, None
            yield MaterializeResult(asset_key=keys[r.unique_id], metadata=metadata)
        context.log.info(f"dbt step {number}: {len(invocation.results)} nodes in {invocation.seconds:.1f} s "
                         f"(parse {invocation.parse_seconds:.1f} s)")

    return warehouse_step


STEPS = build_steps(project_manifest(), ENGINES)
LEVELS = engine_levels(STEPS, ENGINES)
WAREHOUSE_STEPS = [_step_asset(number, uids, step_selection(number, LEVELS)) for number, uids in STEPS.items()]
ALL_NODE_KEYS = [node_key(uid) for uids in STEPS.values() for uid in uids]


def _test_model(manifest: Mapping[str, Any], unique_id: str) -> str | None:
    """The model (or seed) a data test is about: the one it is attached to, else the first it reads."""
    node = manifest["nodes"].get(unique_id, {})
    if node.get("attached_node"):
        return node["attached_node"]
    return next((p for p in node.get("depends_on", {}).get("nodes", []) if p.startswith(("model.", "seed."))), None)


@asset(
    key=AssetKey("night_gates"),
    partitions_def=DAILY,
    backfill_policy=_ONE_NIGHT,
    deps=ALL_NODE_KEYS,
    group_name="publish",
    description="Tonight's data tests (compiled by dbt, run on the build; not the unit tests), sorted into their domains (foundation, "
    "billing & communications, fulfillment & access, finance), with the closed-period audits (unchanged since the last published night, equal to their GL files); recorded in "
    "state/gates/<D>.json for the exports and the summary. A failing test is also an observation on its model.",
    check_specs=[AssetCheckSpec(f"{domain}_gate", asset=AssetKey("night_gates"), blocking=False,
                                description=f"every blocking check of the {title} domain passed")
                 for domain, title in DOMAINS.items()],
    kinds={"python"},
)
def night_gates(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    settings = lifecycle.settings()
    day = partition_date(context.partition_key)
    invocation = dbt.run_data_tests(settings)
    failpoints.reach("mid_test")
    write_node_results(settings, "tests", [r.as_dict() for r in invocation.results])
    manifest = dbt.manifest_json(settings)
    gates: Gates = evaluate_dbt(day, manifest, read_node_results(settings))
    for r in invocation.results:
        if r.status in ("fail", "error", "warn"):
            model = _test_model(manifest, r.unique_id)
            if model is not None:
                context.log_event(AssetObservation(asset_key=node_key(model), metadata={
                    "test": manifest["nodes"][r.unique_id]["name"], "status": r.status,
                    "failures": r.failures if r.failures is not None else -1,
                    "message": (r.message or r.status).strip()[:500]}))
    previous = last_published_date(settings)
    gates.checks["finance"] = gates.checks.get("finance", 0) + 1
    if previous is not None and day >= previous:  # a rerun of the published night is audited too
        try:
            audit_closed_periods(settings, previous)
        except PublishError as exc:
            gates.failures.append(GateFailure("finance", "closed_periods_unchanged", str(exc)))
    # every closed period's lines equal its GL files, which are final: finance imported them
    gates.checks["finance"] += 1
    for problem in audit_gl_files(settings, day):
        gates.failures.append(GateFailure("finance", "closed_periods_match_gl_files", problem))
    # warning tests close no gate; the operator reads them with the night (finance's list is the test's rows)
    gates.warnings = ingest_warnings(settings, day) + [
        GateFailure(node_domain(manifest, r.unique_id) or "foundation", manifest["nodes"][r.unique_id]["name"],
                    f"{r.failures} row{'s' if r.failures != 1 else ''}")
        for r in invocation.results if r.status == "warn"]
    path = write_gates(settings, gates)
    for failure in gates.failures:
        context.log.error(f"{failure.domain} gate: {failure.check}: {failure.message}")
    for warning in gates.warnings:
        context.log.warning(f"{warning.domain} warning: {warning.check}: {warning.message}")
    return MaterializeResult(
        metadata={"path": MetadataValue.path(str(path)), "tests": len(invocation.results),
                  "seconds": round(invocation.seconds, 1),
                  "failed_domains": ", ".join(gates.failed_domains()) or "none"},
        check_results=[
            AssetCheckResult(
                check_name=f"{domain}_gate", passed=gates.passed(domain), severity=AssetCheckSeverity.ERROR,
                metadata={"checks": gates.checks.get(domain, 0),
                          "failures": MetadataValue.json([f.as_dict() for f in gates.failures if f.domain == domain])},
            )
            for domain in DOMAINS
        ],
    )


@asset(
    key=AssetKey("published_warehouse"),
    partitions_def=DAILY,
    backfill_policy=_ONE_NIGHT,
    # after the exports too: the register audit (no key sent twice, control totals = register, circulation =
    # register) judges what was written, a gate only the register can answer
    deps=[night_gates, AssetKey(["exports", "register_audit"])],
    group_name="publish",
    description="The audited build swapped into warehouse.duckdb: what finance opens read-only. Withheld (the run "
    "fails, the last published night stays) unless every gate passed.",
    kinds={"duckdb"},
)
def published_warehouse(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    settings = lifecycle.settings()
    day = partition_date(context.partition_key)
    gates = read_gates(settings, day)
    if gates is None or not gates.all_passed:
        reason = gates.reason() if gates is not None else "no gates recorded"
        raise Failure(description=f"night {day} withheld: {reason}",
                      metadata={"failures": MetadataValue.json([f.as_dict() for f in gates.failures] if gates else [])})
    result = publish(settings, day)
    if result["published"]:
        context.log.info(f"published night {day} to {settings.warehouse}")
    else:
        context.log.warning(f"night {day} built and audited but not published: {result['reason']}")
    return MaterializeResult(
        metadata={
            "published": result["published"],
            "path": MetadataValue.path(str(settings.warehouse)),
            "tables": len(result["tables"]),
            "rows_by_table": MetadataValue.json(result["tables"]),
            **({"reason": result["reason"]} if not result["published"] else {}),
        }
    )


WAREHOUSE_ASSETS = [night, *WAREHOUSE_STEPS, night_gates, published_warehouse]
