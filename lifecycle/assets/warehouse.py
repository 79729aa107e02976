"""The warehouse: dbt models built into tonight's build file, then the publication swap.

dbt is the only writer of the warehouse file. dbt tests are asset checks; a failing one fails
the dbt step, so the publish asset downstream never runs and yesterday's warehouse stays.
"""


import json
import os
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult, MetadataValue, asset
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from lifecycle.assets.dbt_project import dbt_project, ensure_manifest
from lifecycle.io.warehouse import publish, reset_build
from lifecycle.partitions import DAILY
from lifecycle.resources import LifecycleHome, partition_date

ensure_manifest()


class WarehouseTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "warehouse"


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
    invocation = dbt.cli(
        ["build", "--vars", json.dumps(settings.dbt_vars(day))],
        context=context,
        target_path=settings.build_dir / "dbt_target",
    )
    yield from invocation.stream()


@asset(
    key=AssetKey("published_warehouse"),
    partitions_def=DAILY,
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
    deps=list(warehouse_models.keys),
    group_name="publish",
    description="The audited build swapped into warehouse.duckdb: what finance opens read-only.",
    kinds={"duckdb"},
)
def published_warehouse(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    settings = lifecycle.settings()
    day = partition_date(context.partition_key)
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
