"""The warehouse: dbt models built into tonight's build file, the per-domain gates, then the publication swap.

dbt is the only writer of the warehouse file. The models are built first (``dbt build`` without tests),
then every test runs (``dbt test``), so a failing finance test does not stop the fulfillment models:
each test is a Dagster asset check, non-blocking, and ``night_gates`` sorts the failures into their
domains (lifecycle.checks.gates). ``published_warehouse`` swaps the build in only when every gate
passed; otherwise it fails the run and yesterday's warehouse stays, while the exports whose own gates
passed still go out from tonight's audited build.
"""


import json
import os
from collections.abc import Mapping
from typing import Any

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
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from lifecycle.assets.dbt_project import dbt_project, ensure_manifest
from lifecycle.checks.gates import DOMAINS, Gates, evaluate_dbt, read_gates, write_gates
from lifecycle.checks.gates import Failure as GateFailure
from lifecycle.io.warehouse import PublishError, audit_closed_periods, last_published_date, publish, reset_build
from lifecycle.partitions import DAILY
from lifecycle.resources import LifecycleHome, partition_date

ensure_manifest()

#: What the dbt step keeps of its two invocations for the gates: every node's status.
DBT_RESULTS = "dbt_results.json"


class WarehouseTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "warehouse"

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        # Not blocking in Dagster's sense (that would skip every later step): the gates decide per domain.
        return spec._replace(blocking=False) if spec is not None else None


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    partitions_def=DAILY,
    # one night per run: nights are stateful, never one dbt call over a date range
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
    dagster_dbt_translator=WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def warehouse_models(context: AssetExecutionContext, dbt: DbtCliResource, lifecycle: LifecycleHome):
    settings = lifecycle.settings()
    day = partition_date(context.partition_key)
    os.environ["LIFECYCLE_HOME"] = str(settings.home)  # the dbt profile and sources read it
    reset_build(settings)
    dbt_vars = json.dumps(settings.dbt_vars(day))
    results: list[dict] = []
    for command in (["build", "--exclude-resource-type", "test", "unit_test"], ["test"]):
        invocation = dbt.cli([*command, "--vars", dbt_vars], context=context,
                             target_path=settings.build_dir / "dbt_target", raise_on_error=False)
        yield from invocation.stream()
        try:
            run_results = invocation.get_artifact("run_results.json")
        except FileNotFoundError:
            raise Failure(f"dbt {command[0]} did not run (no run_results.json); see the night's log") from None
        results += [{k: r.get(k) for k in ("unique_id", "status", "failures", "message")}
                    for r in run_results["results"]]
    (settings.build_dir / DBT_RESULTS).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


@asset(
    key=AssetKey("night_gates"),
    partitions_def=DAILY,
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
    # Only the model that reads nothing: it is always built, so the gates run even when a model failed and its
    # descendants were skipped (depending on every model would skip this step, and the night with it).
    deps=[AssetKey(["marts", "warehouse_night"])],
    group_name="publish",
    description="Tonight's checks sorted into their domains (foundation, billing & communications, fulfillment & "
    "access, finance), with the closed-period audit; recorded in state/gates/<D>.json for the exports and the "
    "summary.",
    check_specs=[AssetCheckSpec(f"{domain}_gate", asset=AssetKey("night_gates"), blocking=False,
                                description=f"every blocking check of the {title} domain passed")
                 for domain, title in DOMAINS.items()],
    kinds={"python"},
)
def night_gates(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    settings = lifecycle.settings()
    day = partition_date(context.partition_key)
    manifest = json.loads((settings.build_dir / "dbt_target" / "manifest.json").read_text(encoding="utf-8"))
    results = json.loads((settings.build_dir / DBT_RESULTS).read_text(encoding="utf-8"))
    gates: Gates = evaluate_dbt(day, manifest, results)
    previous = last_published_date(settings)
    gates.checks["finance"] = gates.checks.get("finance", 0) + 1
    if previous is not None and day > previous:
        try:
            audit_closed_periods(settings, previous)
        except PublishError as exc:
            gates.failures.append(GateFailure("finance", "closed_periods_unchanged", str(exc)))
    path = write_gates(settings, gates)
    for failure in gates.failures:
        context.log.error(f"{failure.domain} gate: {failure.check}: {failure.message}")
    return MaterializeResult(
        metadata={"path": MetadataValue.path(str(path)), "failed_domains": ", ".join(gates.failed_domains()) or "none"},
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
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
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
