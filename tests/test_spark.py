"""Finance's warehouse on Apache Spark (``[warehouse] kind = "spark"``): a generated home's two nights, each
published on DuckDB, then built, tested and published on a local Spark by the night's own last step
(``spark_warehouse``, lifecycle.io.spark); Spark's published night holds DuckDB's rows, and the exports written
from it are DuckDB's bytes.

One module fixture runs the two nights (120 customers, the published home's seed and dates). Spark's tables are
Parquet files, which DuckDB reads to compare them with the published DuckDB warehouse, table by table, with
`except all` both ways (numbers as exact decimals, instants in UTC). CI installs Java and pyspark (.ci/run, the
`spark` extra): there the tests must run; elsewhere they skip saying what is missing.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from lifecycle.io import dbt, spark
from tests.homes import CUTOVER, END, copy_home

pytestmark = pytest.mark.nights


@pytest.fixture(scope="module")
def spark_home(tmp_path_factory):
    missing = spark.unavailable()
    if missing:
        if os.environ.get("CI"):
            raise AssertionError(f"CI runs the Spark tests, but {missing}")
        pytest.skip(f"Spark cannot run here: {missing}")
    from tests.homes import make_published_home

    return make_published_home(tmp_path_factory.mktemp("spark") / "home", kind="spark")


def test_both_nights_are_published_on_spark_after_duckdb(spark_home):
    settings, outcomes = spark_home
    assert [(o.business_date, o.success, o.published, o.failures) for o in outcomes] == [
        (CUTOVER, True, True, []), (END, True, True, [])]
    assert spark.published_night(settings) == END
    link = spark.published_link(settings)
    assert os.readlink(link) == f"nights/{END}.1"  # relative: the home can move
    # the previous night stays for a reader still on it; nothing half-built is left
    assert sorted(p.name for p in spark.nights_dir(settings).iterdir()) == [f"{CUTOVER}.1", f"{END}.1"]
    assert spark._night_in(spark.nights_dir(settings) / f"{CUTOVER}.1") == CUTOVER
    from lifecycle.status import home_status, status_lines

    assert f"published:  night {END}; on Spark: night {END}" in status_lines(home_status(settings))


def test_every_model_seed_and_data_test_of_the_night_ran_and_passed_on_spark(spark_home):
    settings, _ = spark_home
    manifest = dbt.manifest_json(settings)
    results = json.loads((spark.target_dir(settings) / "run_results.json").read_text(encoding="utf-8"))["results"]
    kinds = {kind: sum(n["resource_type"] == kind for n in manifest["nodes"].values()) for kind in ("model", "seed",
                                                                                                      "test")}
    assert kinds["model"] >= 90 and kinds["seed"] == 3 and kinds["test"] >= 400
    ran = {kind: sum(r["unique_id"].startswith(kind + ".") for r in results) for kind in kinds}
    assert ran == kinds
    assert [(r["unique_id"], r["status"], (r.get("message") or "")[:300]) for r in results
            if r["status"] not in ("success", "pass")] == []


def test_the_engines_ran_on_spark_by_customer_and_wrote_the_duckdb_nights_files(spark_home):
    """With ``spark_engines`` (the default), chains, cash application and stock allocation ran on Spark, a bucket of
    keys per grouped function, on the Spark night's own models: their files hold the DuckDB night's rows, with
    its columns and types, and cash application's records carry the same numbers."""
    from lifecycle.assets.warehouse import ENGINES

    settings, _ = spark_home
    assert settings.spark_engines
    folder = spark.published_link(settings).resolve() / "engines"
    assert sorted(p.name for p in folder.iterdir()) == sorted(e.name for e in ENGINES)
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        for engine in ENGINES:
            mine = f"select * from read_parquet('{settings.build_dir / 'engine' / engine.name}.parquet')"
            theirs = f"select * from read_parquet('{folder / engine.name}/*.parquet')"
            assert con.execute(f"describe {theirs}").fetchall() == con.execute(f"describe {mine}").fetchall()
            rows = con.execute(f"select count(*) from ({mine})").fetchone()[0]
            assert rows > 20 and con.execute(f"select count(*) from ({theirs})").fetchone()[0] == rows, engine.name
            assert [con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
                    for a, b in ((mine, theirs), (theirs, mine))] == [0, 0], engine.name
            if engine.number:  # numbered in the file's order: the same record has the same number
                order = f" order by {engine.number}"
                assert con.execute(theirs + order).fetchall() == con.execute(mine + order).fetchall()
    finally:
        con.close()


def test_every_published_table_holds_the_rows_of_the_duckdb_warehouse(spark_home):
    settings, _ = spark_home
    folder = spark.published_link(settings).resolve()
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        # the carried models' states (schema carry) are DuckDB's own: Spark builds those models in full
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema <> 'carry' order by 1, 2").fetchall()
        assert len(tables) >= 100
        assert set(tables) <= set(spark.tables(folder))
        differences, rows = [], 0
        for schema, table in tables:
            columns = ", ".join(f'"{c}"' for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, table]).fetchall())
            mine = f'select {columns} from "{schema}"."{table}"'
            theirs = f"select {columns} from read_parquet('{spark.table_files(folder, schema, table)}')"
            only_duckdb, only_spark = (con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
                                       for a, b in ((mine, theirs), (theirs, mine)))
            rows += con.execute(f"select count(*) from ({mine})").fetchone()[0]
            if only_duckdb or only_spark:
                differences.append(f"{schema}.{table}: {only_duckdb} rows only on DuckDB, {only_spark} only on Spark")
        assert rows > 5_000
        assert differences == []
    finally:
        con.close()


def test_the_exports_written_from_the_spark_night_are_the_duckdb_nights_bytes(spark_home, tmp_path):
    """The night's export files written again, on a copy of the home whose warehouse file holds Spark's published
    tables (read from its Parquet), are byte for byte the files the DuckDB night wrote."""
    from lifecycle.io.access import export_access_changes
    from lifecycle.io.exports import (
        export_autocharge_requests,
        export_gl,
        export_notice_mail,
        export_outbox,
        export_refund_requests,
    )
    from lifecycle.io.manifests import export_manifests

    settings, _ = spark_home
    copy = copy_home(settings.home, tmp_path / "home")
    folder = spark.published_link(copy).resolve()
    copy.warehouse.unlink()
    con = duckdb.connect(str(copy.warehouse))
    try:
        for schema, table in spark.tables(folder):
            con.execute(f'create schema if not exists "{schema}"')
            con.execute(f'create table "{schema}"."{table}" as select * from read_parquet('
                        f"'{spark.table_files(folder, schema, table)}')")
    finally:
        con.close()
    night_files = [p for p in (copy.home / "exports").rglob("*") if p.is_file() and str(END) in p.parts]
    assert len(night_files) >= 8
    for path in night_files:  # tonight's files go; the GL's period files are written again in place
        path.unlink()
    written = []
    for export in (export_autocharge_requests, export_refund_requests, export_notice_mail, export_outbox, export_gl,
                   export_manifests, export_access_changes):
        result = export(copy, END)
        written.append(result.path)
    assert {p.relative_to(copy.home) for p in night_files} <= {
        p.relative_to(copy.home) for p in (copy.home / "exports").rglob("*") if p.is_file()}
    compared = filecmp.dircmp(settings.home / "exports", copy.home / "exports")
    _assert_same_tree(compared)
    assert sum(1 for p in (copy.home / "exports").rglob("*") if p.is_file()) >= 15


def _assert_same_tree(compared: filecmp.dircmp) -> None:
    assert compared.left_only == [] and compared.right_only == [], compared.report()
    _, mismatch, errors = filecmp.cmpfiles(compared.left, compared.right, compared.common_files, shallow=False)
    assert (mismatch, errors) == ([], [])
    for sub in compared.subdirs.values():
        _assert_same_tree(sub)


def test_publication_switches_the_link_only_to_a_build_of_its_night_never_back_in_time(spark_home, tmp_path):
    """A build that holds another night is refused; an older night's build is not published (finance is not taken
    back in time); a rerun of the published night is published beside it, and the night before the previous one
    goes."""
    settings, _ = spark_home
    copy = copy_home(settings.home, tmp_path / "home")
    link, nights = spark.published_link(copy), spark.nights_dir(copy)

    def build(day, source):
        night = spark.SparkNight(day, published=False, folder=nights / f"{day}.build")
        shutil.copytree(nights / source, night.folder)
        return night

    wrong = build(END, f"{CUTOVER}.1")
    with pytest.raises(spark.SparkPublishError, match=f"holds night {CUTOVER}, not {END}"):
        spark.publish_night(copy, wrong)
    shutil.rmtree(wrong.folder)
    older = spark.publish_night(copy, build(CUTOVER, f"{CUTOVER}.1"))
    assert (older.published, os.readlink(link)) == (False, f"nights/{END}.1")
    shutil.rmtree(older.folder)
    rerun = spark.publish_night(copy, build(END, f"{END}.1"))
    assert (rerun.published, os.readlink(link), rerun.folder.name) == (True, f"nights/{END}.2", f"{END}.2")
    assert sorted(p.name for p in nights.iterdir()) == [f"{END}.1", f"{END}.2"]
    assert spark.published_night(copy) == END
    con = duckdb.connect()
    try:
        assert spark.attach_published(con, copy) == END
        assert con.execute("select business_date from marts.warehouse_night").fetchall() == [(END,)]
        invoiced = con.execute("select count(*), sum(total_amount) from marts.fct_invoices").fetchone()
    finally:
        con.close()
    assert invoiced[0] > 100
    # a Spark session reads the same night through register_published
    script = ("import sys; from pyspark.sql import SparkSession; from lifecycle.io import spark; "
              "from lifecycle.settings import get_settings; "
              "s = SparkSession.builder.master('local[1]').config('spark.ui.enabled', 'false')"
              ".config('spark.sql.warehouse.dir', sys.argv[2]).getOrCreate(); "
              "settings = get_settings(sys.argv[1]); spark.register_published(s, settings); "
              "night = spark.register_published(s, settings); "  # again: the tables are made anew
              "row = s.sql('select count(*), cast(sum(total_amount) as string) from marts.fct_invoices').first(); "
              "print(night, row[0], row[1])")
    run = subprocess.run([sys.executable, "-c", script, str(copy.home), str(tmp_path / "reader-warehouse")],
                         capture_output=True, text=True, timeout=300)
    assert run.stdout.split() == [str(END), str(invoiced[0]), str(invoiced[1])], run.stderr[-2000:]
