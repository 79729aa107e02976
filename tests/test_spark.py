"""The same dbt project on Apache Spark: every model, seed and data test of a published night builds and passes,
and every table holds the rows of the night's DuckDB warehouse.

The shared published home (tests/homes.py, 120 customers, two nights) is copied; its last night is built again on
a local Spark (lifecycle.io.spark: the home's Parquet read in place as views, dbt-spark's session method). The
Spark tables are Parquet files, which DuckDB reads to compare them with the published DuckDB warehouse, table by
table, with `except all` both ways (numbers compared as exact decimals, instants in UTC). CI installs Java and
pyspark (.ci/run, the `spark` extra): there the tests must run; elsewhere they skip saying what is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from lifecycle.io import dbt, spark
from tests.homes import copy_home

pytestmark = pytest.mark.nights


@pytest.fixture(scope="module")
def spark_night(published_home, tmp_path_factory):
    missing = spark.unavailable()
    if missing:
        if os.environ.get("CI"):
            raise AssertionError(f"CI runs the Spark tests, but {missing}")
        pytest.skip(f"Spark cannot run here: {missing}")
    reference, _ = published_home
    root = tmp_path_factory.mktemp("spark")
    settings = copy_home(reference.home, root / "home")
    warehouse = root / "spark-warehouse"
    return settings, spark.build_on_spark(settings, warehouse), warehouse


def test_every_model_seed_and_data_test_builds_and_passes_on_spark(spark_night):
    settings, results, _ = spark_night
    manifest = dbt.manifest_json(settings)
    kinds = {kind: sum(n["resource_type"] == kind for n in manifest["nodes"].values()) for kind in ("model", "seed",
                                                                                                      "test")}
    assert kinds["model"] >= 90 and kinds["seed"] == 3 and kinds["test"] >= 400
    ran = {kind: sum(r["unique_id"].startswith(kind + ".") for r in results) for kind in kinds}
    assert ran == kinds
    assert [(r["unique_id"], r["status"], (r.get("message") or "")[:300]) for r in results
            if r["status"] not in ("success", "pass")] == []


def _spark_tables(warehouse: Path) -> set[tuple[str, str]]:
    return {(schema.name.removesuffix(".db"), table.name) for schema in warehouse.glob("*.db")
            for table in schema.iterdir() if any(table.glob("*.parquet"))}


def test_every_table_holds_the_rows_of_the_duckdb_warehouse(spark_night):
    settings, _, warehouse = spark_night
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        # the carried models' states (schema carry) are DuckDB's own: Spark builds those models in full
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema <> 'carry' order by 1, 2").fetchall()
        assert len(tables) >= 100
        assert set(tables) <= _spark_tables(warehouse)
        differences, rows = [], 0
        for schema, table in tables:
            columns = ", ".join(f'"{c}"' for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, table]).fetchall())
            mine = f'select {columns} from "{schema}"."{table}"'
            theirs = f"select {columns} from read_parquet('{warehouse}/{schema}.db/{table}/*.parquet')"
            only_duckdb, only_spark = (con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
                                       for a, b in ((mine, theirs), (theirs, mine)))
            rows += con.execute(f"select count(*) from ({mine})").fetchone()[0]
            if only_duckdb or only_spark:
                differences.append(f"{schema}.{table}: {only_duckdb} rows only on DuckDB, {only_spark} only on Spark")
        assert rows > 5_000
        assert differences == []
    finally:
        con.close()
