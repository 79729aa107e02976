"""The Spark build's own process (``python -m lifecycle.pipelines.spark_build HOME FOLDER [dbt command]``, started by
lifecycle.io.spark's ``build_on_spark``): it starts the Spark session, makes every source with a file behind it and
every export register a Spark view over its Parquet, then runs dbt there (dbt-spark's ``session`` method takes the
session it finds).

Given a night (``spark_engines.json`` in dbt's Spark target folder: ``[warehouse] spark_engines``), it builds that
night step by step as on DuckDB (lifecycle/assets/warehouse.py: ``STEPS``), runs each engine on Spark
(lifecycle.io.spark_engines) once the models it reads are built, then runs the data tests; otherwise it runs the
dbt command it is given. A pipeline module, not an io one: it runs the engines the assets define.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date
from pathlib import Path

from lifecycle.assets.warehouse import ENGINES, LEVELS, STEPS, selection_args, step_selection
from lifecycle.io.dbt import DBT_PROJECT_DIR, manifest_json
from lifecycle.io.spark import target_dir
from lifecycle.io.spark_engines import engine_inputs, run_engine
from lifecycle.settings import Settings, get_settings


def main(argv: list[str]) -> int:
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

    home, warehouse_dir, command = Path(argv[0]), Path(argv[1]), argv[2:]
    settings = get_settings(home)
    target = target_dir(settings)
    spark = (SparkSession.builder.master(os.environ.get("LIFECYCLE_SPARK_MASTER", settings.spark_master))
             .appName("subscription-lifecycle")
             .config("spark.driver.memory", settings.spark_memory)
             .config("spark.sql.warehouse.dir", str(warehouse_dir))
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.parquet.mergeSchema", "true")  # a register written before a column existed
             .config("spark.sql.shuffle.partitions", "1")
             # instants as Parquet's UTC-adjusted microseconds (not the legacy INT96): other readers see instants
             .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config(map=settings.spark_conf)  # the home's own: a cluster's executors, storage, tuning
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    for schema, name, query in json.loads((target / "spark_views.json").read_text(encoding="utf-8")):
        spark.sql(f"create database if not exists `{schema}`")
        spark.sql(f"create or replace view `{schema}`.`{name}` as {query}")

    def invoke(args: list[str]) -> bool:
        return dbtRunner().invoke([
            *args, "--target", "spark", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
            str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(target / "logs"),
            "--vars", json.dumps(settings.dbt_vars(), sort_keys=True)]).success

    engines = target / "spark_engines.json"
    if not engines.exists():
        return 0 if invoke(command) else 1
    day = date.fromisoformat(json.loads(engines.read_text(encoding="utf-8"))["business_date"])
    return 0 if _build_with_engines(spark, settings, day, warehouse_dir, invoke) else 1


def _build_with_engines(spark, settings: Settings, day: date, warehouse_dir: Path, invoke) -> bool:
    """The night's build step by step, as on DuckDB (lifecycle/assets/warehouse.py: ``STEPS``), each engine run on
    Spark once the models it reads are built, then the data tests; dbt's results of every step in one
    ``run_results.json``, as one build writes it."""
    target = target_dir(settings)
    manifest = manifest_json(settings)
    relations = {n["name"]: f"{n['schema']}.{n['alias']}" for n in manifest["nodes"].values()
                 if n["resource_type"] == "model"}
    sources = {n["name"]: (n["schema"], n["identifier"]) for n in manifest["sources"].values()
               if n["source_name"] == "engine"}
    buckets = max(2, 2 * spark.sparkContext.defaultParallelism)
    results: list[dict] = []
    seconds: dict[str, float] = {}
    ok = True

    def step(args: list[str]) -> None:
        nonlocal ok
        ok = invoke(args) and ok
        done = target / "run_results.json"
        if done.exists():
            results.extend(json.loads(done.read_text(encoding="utf-8"))["results"])
            done.unlink()

    for number in STEPS:
        # seeds load in the first step; the data tests run once every model is built
        step([*(["build", "--exclude-resource-type", "test", "unit_test"] if number == 0 else ["run"]),
              *selection_args(*step_selection(number, LEVELS))])
        for engine in (e for e in ENGINES if LEVELS[e.name] == number + 1):
            started = time.perf_counter()
            path = warehouse_dir / "engines" / engine.name
            run_engine(spark, settings, day, engine, engine_inputs(spark, relations, engine),
                       buckets).write.mode("overwrite").parquet(str(path))
            schema, name = sources[engine.name]
            spark.sql(f"create or replace view `{schema}`.`{name}` as select * from parquet.`{path}`")
            seconds[engine.name] = round(time.perf_counter() - started, 2)
    step(["test", "--exclude-resource-type", "unit_test"])
    (target / "run_results.json").write_text(json.dumps({"results": results, "engine_seconds": seconds}),
                                             encoding="utf-8")
    return ok


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
