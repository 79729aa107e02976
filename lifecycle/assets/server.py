"""Finance's warehouse on a PostgreSQL server (``[warehouse] kind = "postgres"``): the night, once published on
DuckDB, built by the same dbt models on the server and tested there (write), judged by the night's gates, domain by
domain (audit), and swapped in atomically only when every gate passed (publish): lifecycle.io.postgres. The asset
is part of a home's definitions only when its kind is ``postgres``.
"""

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from lifecycle.assets.warehouse import _ONE_NIGHT, published_warehouse
from lifecycle.checks.gates import evaluate_dbt
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
    manifest = dbt.manifest_json(settings)
    try:
        night = postgres.build_night(settings, day, manifest)
        # the audit: the server's build and data tests judged by the night's gates, domain by domain
        gates = evaluate_dbt(day, manifest, night.results)
        if gates.all_passed:
            night = postgres.publish_night(settings, night)
    except Exception as exc:  # the connection, the load, dbt: say which, and keep the server's night
        raise Failure(description=f"night {day} not published on PostgreSQL: {type(exc).__name__}: {exc}") from exc
    metadata = {"published": night.published, "models": night.models, "data_tests": night.tests,
                "loaded_rows": night.loaded_rows, "checks_by_domain": MetadataValue.json(gates.checks),
                **{f"{stage}_seconds": round(s, 2) for stage, s in night.seconds.items()}}
    if not gates.all_passed:
        raise Failure(description=f"night {day} not published on PostgreSQL: {gates.reason()}",
                      metadata={**metadata, "failures": MetadataValue.json([f.as_dict() for f in gates.failures])})
    if not night.published:
        metadata["reason"] = "the server holds a later night"
    return MaterializeResult(metadata=metadata)


SERVER_ASSETS = [postgres_warehouse]
