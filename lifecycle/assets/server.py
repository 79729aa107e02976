"""Finance's warehouse on a PostgreSQL server (``[warehouse] kind = "postgres"``) or on Apache Spark (``kind =
"spark"``): the night, once published on DuckDB, built by the same dbt models there and tested there (write),
judged by the night's gates, domain by domain (audit), and published atomically only when every gate passed
(publish): lifecycle.io.postgres, lifecycle.io.spark. An asset is part of a home's definitions only when the kind
is its own (``server_assets``).
"""

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from lifecycle.assets.warehouse import _ONE_NIGHT, published_warehouse
from lifecycle.checks.gates import evaluate_dbt
from lifecycle.io import dbt, postgres, spark
from lifecycle.io.warehouse import last_published_date
from lifecycle.partitions import DAILY
from lifecycle.resources import LifecycleHome, partition_date
from lifecycle.settings import Settings


def _write_audit_publish(context: AssetExecutionContext, lifecycle: LifecycleHome, where: str,
                         build: Callable[[Settings, date, Mapping[str, Any]], Any],
                         publish: Callable[[Settings, Any], Any], **facts: Callable[[Any], Any]) -> MaterializeResult:
    """The night on another warehouse (``where``), once published on DuckDB: ``build`` it there (write), judge its
    dbt results by the night's gates, domain by domain (audit), and ``publish`` it only when every gate passed.
    ``facts``: metadata read from the night ``build`` returned."""
    settings = lifecycle.settings()
    day = partition_date(context.partition_key)
    if last_published_date(settings) != day:  # a later night is published on DuckDB: this warehouse follows it
        return MaterializeResult(metadata={"published": False, "reason": "a later night is published"})
    manifest = dbt.manifest_json(settings)
    try:
        night = build(settings, day, manifest)
        gates = evaluate_dbt(day, manifest, night.results)
        if gates.all_passed:
            night = publish(settings, night)
    except Exception as exc:  # the connection, the load, Spark, dbt: say which, and keep the published night
        raise Failure(description=f"night {day} not published on {where}: {type(exc).__name__}: {exc}") from exc
    metadata = {"published": night.published, "models": night.models, "data_tests": night.tests,
                **{name: fact(night) for name, fact in facts.items()},
                "checks_by_domain": MetadataValue.json(gates.checks),
                **{f"{stage}_seconds": round(s, 2) for stage, s in night.seconds.items()}}
    if not gates.all_passed:
        raise Failure(description=f"night {day} not published on {where}: {gates.reason()}",
                      metadata={**metadata, "failures": MetadataValue.json([f.as_dict() for f in gates.failures])})
    if not night.published:
        metadata["reason"] = f"{where} holds a later night"
    return MaterializeResult(metadata=metadata)


_COMMON = dict(deps=[published_warehouse], partitions_def=DAILY, backfill_policy=_ONE_NIGHT, group_name="publish")


@asset(
    key=AssetKey("postgres_warehouse"),
    description="The published night on the PostgreSQL server: inputs loaded, every model built and every data test "
    "run in schemas <layer>__build, then swapped in atomically; the finance role reads the marts. A failed "
    "build or test leaves the server's previous night in place.",
    kinds={"postgres", "dbt"},
    **_COMMON,
)
def postgres_warehouse(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    return _write_audit_publish(context, lifecycle, "PostgreSQL", postgres.build_night, postgres.publish_night,
                                loaded_rows=lambda night: night.loaded_rows)


@asset(
    key=AssetKey("spark_warehouse"),
    description="The published night on Apache Spark: every model built and every data test run by dbt-spark in the "
    "night's own folder of the Spark warehouse, the home's files read in place; then the warehouse's "
    "'published' link switches to it. A failed build or test leaves the published night in place.",
    kinds={"spark", "dbt"},
    **_COMMON,
)
def spark_warehouse(context: AssetExecutionContext, lifecycle: LifecycleHome) -> MaterializeResult:
    return _write_audit_publish(context, lifecycle, "Spark", lambda settings, day, _: spark.build_night(settings, day),
                                spark.publish_night, folder=lambda night: str(night.folder))


def server_assets(kind: str) -> list:
    """The publication step of a warehouse kind beside DuckDB's (none for ``duckdb``)."""
    return {"postgres": [postgres_warehouse], "spark": [spark_warehouse]}.get(kind, [])
