"""The Dagster code location: one Definitions, nothing else."""

from __future__ import annotations

from dagster import Definitions
from dagster_dbt import DbtCliResource

from lifecycle.assets.dbt_project import dbt_executable, dbt_project
from lifecycle.assets.exports import EXPORT_ASSETS
from lifecycle.assets.ingest import INGEST_ASSETS
from lifecycle.assets.warehouse import night_gates, published_warehouse, warehouse_models
from lifecycle.pipelines.nightly import build_nightly_schedule, nightly_job
from lifecycle.resources import LifecycleHome
from lifecycle.settings import get_settings


def build_definitions(home: str | None = None) -> Definitions:
    settings = get_settings(home)
    return Definitions(
        assets=[*INGEST_ASSETS, warehouse_models, night_gates, published_warehouse, *EXPORT_ASSETS],
        jobs=[nightly_job],
        schedules=[build_nightly_schedule()],
        resources={
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
            "lifecycle": LifecycleHome(home=str(settings.home)),
        },
    )


defs = build_definitions()
