"""Finance's warehouse on a PostgreSQL server (``[warehouse] kind = "postgres"``): the night, once published on
DuckDB, built by the same dbt models on the server, tested there and swapped in atomically
(lifecycle.io.postgres). The asset is part of a home's definitions only when its kind is ``postgres``.
"""

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from lifecycle.assets.warehouse import _ONE_NIGHT, published_warehouse
from lifecycle.io import dbt, postgres
from lifecycle.io.warehouse import last_published_date
from lifecycle.partitions import DAILY
from lifecycle.resources import LifecycleHome, partition_date


@asset(
    key=AssetKey("postgres_warehouse"),
    deps=[published_warehouse],
    partitions_def=DAILY,
    backfill_policy=_ONE_NIGHT,
    group_name="publish",
    description="The published night on the PostgreSQL server: inputs loaded, every model built and every data test "
    "run in schemas <layer>__build, then swapped in atomically; the finance role reads the marts. A failed "
    "build or test leaves the server's previous night in place.",
    kinds={"postgres", "dbt"},
)
def postgres_warehouse(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    settings = lifecycle.settings()
    day = partition_date(context.partition_key)
    if last_published_date(settings) != day:  # a later night is published on DuckDB: the server follows it
        return MaterializeResult(metadata={"published": False, "reason": "a later night is published"})
    try:
        night = postgres.build_and_publish(settings, day, dbt.manifest_json(settings))
    except Exception as exc:  # the connection, the load, dbt: say which, and keep the server's night
        raise Failure(description=f"night {day} not published on PostgreSQL: {type(exc).__name__}: {exc}") from exc
    metadata = {"published": night.published, "models": night.models, "data_tests": night.tests,
                "loaded_rows": night.loaded_rows,
                **{f"{stage}_seconds": round(s, 2) for stage, s in night.seconds.items()}}
    if night.failures:
        raise Failure(description=f"night {day} not published on PostgreSQL: {night.reason()}",
                      metadata={**metadata, "failures": MetadataValue.json(night.failures)})
    if not night.published:
        metadata["reason"] = "the server holds a later night"
    return MaterializeResult(metadata=metadata)


SERVER_ASSETS = [postgres_warehouse]
