"""The engines on Spark (``[warehouse] spark_engines``, on by default with ``kind = "spark"``): the same Python
functions as on one machine (lifecycle/billing, lifecycle/fulfillment), run by Spark's Python workers on the
rows of the Spark night's own models, a share of the keys each.

A chain depends on nothing outside its subscription but the catalogue and its customers' answers; a customer's
cash on nothing outside the customer. So each engine's inputs are cut into ``buckets`` by a hash of their key
(``PLANS``), every bucket's rows of every input travel together to one grouped Arrow function
(``applyInArrow``), and that function gives them to the engine as DuckDB relations, exactly as the night's
build gives them on one machine; what is read whole (the catalogue) goes to every bucket. Stock allocation is
ordered over every customer: it stays one group.

The file is the one-machine file: the engine writes each key's records in key order, whatever its batches (the
batch test checks it), so the buckets' records sorted by part, key and position in their bucket are the rows
of ``build/engine/<name>.parquet`` in its order, numbered (cash application's ``record_number``) in that order.

This module runs inside the Spark build's process (lifecycle.io.spark); nothing here starts a session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from lifecycle.io.warehouse import aligned
from lifecycle.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

BUCKET, PART, SEQ = "__bucket", "__part", "__seq"


class Engine(Protocol):
    """What this module reads of an engine (lifecycle.assets.engines.Engine: io stays below the assets)."""
    name: str
    inputs: tuple[str, ...]
    run: Callable[[Settings, date, dict[str, Any], Any], Iterable[Mapping[str, pa.Table]]]
    parts: tuple[str, ...]
    schema: pa.Schema
    number: str | None


@dataclass(frozen=True)
class Plan:
    """How an engine's work divides: each input read by bucket, by the column naming its key (an input not named
    goes whole to every bucket), and the output column its records are grouped by (None: one bucket, in order)."""
    keyed: dict[str, str] = field(default_factory=dict)
    group: str | None = None
    #: inputs reduced before they are cut: {input: Spark SQL over the view ``t``} (its rows reach every bucket
    #: holding a key of theirs through ``through``: {input: (input it joins, column)})
    reduce: dict[str, str] = field(default_factory=dict)
    through: dict[str, tuple[str, str]] = field(default_factory=dict)


PLANS: dict[str, Plan] = {
    "billing_chains": Plan(
        keyed={"stg_orders": "subscription_id", "stg_cancellations": "subscription_id",
               "stg_suspensions": "subscription_id"},
        group="subscription_id",
        # the first answer to each autocharge key over every customer (lifecycle.billing.relations.first_answers),
        # then to each bucket holding one of its customer's subscriptions
        reduce={"stg_payments": """
            select payment_id, customer_id, paid_at, paid_date, recorded_date, status, autocharge_request_key,
                   known_date
            from t where autocharge_request_key is not null and status in ('settled', 'failed')
            qualify row_number() over (partition by autocharge_request_key order by paid_at, payment_id) = 1"""},
        through={"stg_payments": ("stg_orders", "customer_id")},
    ),
    "cash_application": Plan(
        keyed={"int_invoices": "customer_id", "int_payments": "customer_id",
               "int_cancellation_decisions": "customer_id", "stg_service_actions": "customer_id"},
        group="group_customer",
    ),
    "continuity_shipments": Plan(),  # stock is allocated in order over every customer
}


def _cut(spark: SparkSession, engine: Engine, plan: Plan, inputs: dict[str, DataFrame], buckets: int) -> DataFrame:
    """Every keyed input's rows, each as one struct column named after its input, with its bucket."""
    from pyspark.sql import functions as F

    def bucket(column: str):
        return F.pmod(F.xxhash64(F.col(column)), F.lit(buckets)).cast("int")

    frames = []
    for name in engine.inputs:
        if name not in plan.keyed and name not in plan.through and plan.group is not None:
            continue  # read whole by every bucket
        df = inputs[name]
        if name in plan.reduce:
            df.createOrReplaceTempView("t")
            try:
                df = spark.sql(plan.reduce[name])  # analysed here: the view can go
            finally:
                spark.catalog.dropTempView("t")
        if plan.group is None:
            keyed = df.select(F.lit(0).alias(BUCKET), F.struct(*df.columns).alias(name))
        elif name in plan.through:
            via, column = plan.through[name]
            owners = inputs[via].select(column, bucket(plan.keyed[via]).alias(BUCKET)).distinct()
            keyed = df.join(owners, column).select(BUCKET, F.struct(*df.columns).alias(name)).distinct()
        else:
            keyed = df.select(bucket(plan.keyed[name]).alias(BUCKET), F.struct(*df.columns).alias(name))
        frames.append(keyed)
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other, allowMissingColumns=True)
    return frame


def _walk(settings: Settings, day: date, engine: Engine, plan: Plan, whole: dict[str, pa.Table],
          out_schema: pa.Schema):
    """The grouped function: one bucket's rows in, the engine's records of its keys out (with part and position)."""
    def walk(table: pa.Table) -> pa.Table:
        import duckdb
        import pyarrow.compute as pc

        con = duckdb.connect()
        try:
            con.execute("set TimeZone = 'UTC'")  # as the build's sessions: instants reach Python in UTC
            con.execute("set threads = 1")  # one bucket, one core: Spark runs the buckets side by side
            for name in engine.inputs:
                if name in whole:
                    con.register(name, whole[name])
                else:
                    column = table.column(name)
                    rows = column.filter(pc.is_valid(column))
                    con.register(name, pa.table(dict(zip([f.name for f in rows.type], rows.flatten(), strict=True))))
            relations = {name: con.sql(f'select * from "{name}"') for name in engine.inputs}
            counters: dict[str, int] = {}
            pieces = []
            for batch in engine.run(settings, day, relations, None):
                for name, part in batch.items():
                    start = counters.get(name, 0)
                    counters[name] = start + part.num_rows
                    part = part.append_column(PART, pa.array([engine.parts.index(name)] * part.num_rows, pa.int32()))
                    part = part.append_column(SEQ, pa.array(range(start, start + part.num_rows), pa.int64()))
                    pieces.append(aligned(part, out_schema))
        finally:
            con.close()
        return pa.concat_tables(pieces) if pieces else out_schema.empty_table()

    return walk


def run_engine(spark: SparkSession, settings: Settings, day: date, engine: Engine,
               inputs: dict[str, DataFrame], buckets: int) -> DataFrame:
    """Engine ``engine``'s file for night ``day`` as a DataFrame, its rows in the file's order (``inputs``: its
    models as read from tonight's Spark build)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    plan = PLANS[engine.name]
    if plan.group is None:
        buckets = 1
    # read whole by every bucket: small (the catalogue), sent with the function
    whole = {name: inputs[name].toArrow() for name in engine.inputs
             if plan.group is not None and name not in plan.keyed and name not in plan.through}
    columns = [f for f in engine.schema if f.name != engine.number]
    if plan.group is not None and plan.group not in engine.schema.names:
        columns.append(pa.field(plan.group, pa.string()))
    spark_schema = from_arrow_schema(pa.schema([*columns, pa.field(PART, pa.int32()), pa.field(SEQ, pa.int64())]))
    out_schema = to_arrow_schema(spark_schema, timezone="UTC")
    frame = _cut(spark, engine, plan, inputs, buckets)
    shuffle = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", str(buckets))  # one task a bucket
    try:
        walked = frame.groupBy(BUCKET).applyInArrow(_walk(settings, day, engine, plan, whole, out_schema),
                                                      spark_schema).localCheckpoint()
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", shuffle)
    order = [PART, *([plan.group] if plan.group else [BUCKET]), SEQ]
    if plan.group is None:
        walked = walked.withColumn(BUCKET, F.lit(0))
    if engine.number:
        walked = walked.withColumn(engine.number, F.row_number().over(Window.orderBy(*order)).cast("long"))
    return walked.orderBy(*order).select(*engine.schema.names)


def engine_inputs(spark: SparkSession, relations: dict[str, str], engine: Engine) -> dict[str, Any]:
    """The engine's models as tonight's Spark build holds them (``relations``: model → ``schema.table``)."""
    return {name: spark.table(relations[name]) for name in engine.inputs}
