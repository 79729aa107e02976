"""The Dagster code location: one Definitions, nothing else."""

from __future__ import annotations

from dagster import Definitions

from lifecycle.assets.billing import BILLING_ASSETS
from lifecycle.assets.exports import EXPORT_ASSETS
from lifecycle.assets.fulfillment import FULFILLMENT_ASSETS
from lifecycle.assets.ingest import INGEST_ASSETS
from lifecycle.assets.warehouse import WAREHOUSE_ASSETS
from lifecycle.pipelines.nightly import build_nightly_schedule, nightly_job
from lifecycle.resources import LifecycleHome
from lifecycle.settings import get_settings


def build_definitions(home: str | None = None) -> Definitions:
    settings = get_settings(home)
    server = []
    if settings.warehouse_kind != "duckdb":  # finance's warehouse also on a PostgreSQL server or on Spark
        from lifecycle.assets.server import server_assets

        server = server_assets(settings.warehouse_kind)
    return Definitions(
        assets=[*INGEST_ASSETS, *WAREHOUSE_ASSETS, *BILLING_ASSETS, *FULFILLMENT_ASSETS, *EXPORT_ASSETS, *server],
        jobs=[nightly_job],
        schedules=[build_nightly_schedule()],
        resources={"lifecycle": LifecycleHome(home=str(settings.home))},
    )


defs = build_definitions()
