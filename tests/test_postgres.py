"""The same models on PostgreSQL: tonight's inputs loaded into a real server, the project built and tested there
(its unit tests and its data tests), every table equal to the DuckDB warehouse's, to the cent.

The published home's last night is taken as it ran on DuckDB: its feeds, its quarantine, the engines' outputs and
the pipeline's night sources are loaded into a throw-away database (``lifecycle.io.postgres``), then
``dbt build --target postgres`` builds every model and runs every unit test and data test on it. Each table of
the published DuckDB warehouse must have the same rows on the server: sorted rows compared value by value
(numbers as exact decimals, instants in UTC), the first difference named.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from lifecycle.io import dbt, postgres
from tests.postgres_server import postgres_server

pytestmark = pytest.mark.nights


@pytest.fixture(scope="module")
def server():
    try:
        with postgres_server() as env:
            yield env
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        if os.environ.get("CI"):
            raise  # CI installs the server (.ci/run): there the tests must run
        pytest.skip(f"no PostgreSQL server could be started here: {detail}")


@pytest.fixture(scope="module")
def pg_database(server, monkeypatch_module):
    """A database of this module's own on the server; the libpq environment names it."""
    import psycopg2

    admin = psycopg2.connect(**_conninfo(server))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("create database lifecycle_models")
    admin.close()
    env = {**server, "PGDATABASE": "lifecycle_models"}
    for key, value in env.items():
        monkeypatch_module.setenv(key, value)
    return env


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _conninfo(env: dict[str, str]) -> dict[str, str]:
    return {"host": env["PGHOST"], "port": env["PGPORT"], "user": env["PGUSER"], "dbname": env["PGDATABASE"]}


def _norm(value):
    """A value as both warehouses must agree on it: numbers exact (110.00 = 110.0 = 110), instants in UTC."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, decimal.Decimal)):
        number = decimal.Decimal(value)
        return "0" if number == 0 else format(number.normalize(), "f")
    if isinstance(value, float):
        raise AssertionError(f"a float in a warehouse table: {value!r}")
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, list):
        return tuple(_norm(v) for v in value)
    return value


def test_the_models_build_and_test_on_postgres_to_the_same_rows(published_home, pg_database, tmp_path):
    settings, outcomes = published_home
    assert outcomes[-1].published
    manifest = dbt.manifest_json(settings)

    loaded = postgres.load_sources(settings, manifest)
    assert loaded["raw.orders"] > 100 and loaded["engine.billing_chains"] > 0 and loaded["pipeline.night"] == 1
    assert postgres.load_sources(settings, manifest) == loaded  # a load repeated is the same load

    dbt_bin = Path(sys.executable).parent / "dbt"
    run = subprocess.run(
        [str(dbt_bin), "build", "--target", "postgres",
         "--project-dir", str(dbt.DBT_PROJECT_DIR), "--profiles-dir", str(dbt.DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
         "--vars", json.dumps(settings.dbt_vars(), sort_keys=True)],
        capture_output=True, text=True, env={**os.environ, "LIFECYCLE_HOME": str(settings.home)})
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    failed = [(r["unique_id"], r["status"], (r.get("message") or "")[:300]) for r in results
              if r["status"] not in ("success", "pass")]
    assert failed == [], run.stdout[-3000:]
    models = sum(r["unique_id"].startswith(("model.", "seed.")) for r in results)
    assert models == sum(n["resource_type"] in ("model", "seed") for n in manifest["nodes"].values()) >= 90
    assert sum(r["unique_id"].startswith("test.") for r in results) >= 400  # every data test, passed
    assert sum(r["unique_id"].startswith("unit_test.") for r in results) == len(manifest["unit_tests"]) >= 50

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    pg = postgres.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        with pg.cursor() as cur:
            cur.execute("set time zone 'UTC'")
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_type = 'BASE TABLE' order by 1, 2").fetchall()
        assert len(tables) == models
        differences = []
        for schema, table in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, table]).fetchall()]
            selected = ", ".join(f'"{c}"' for c in columns)
            query = f'select {selected} from "{schema}"."{table}"'
            mine = sorted((tuple(_norm(v) for v in row) for row in con.execute(query).fetchall()), key=repr)
            theirs = sorted((tuple(_norm(v) for v in row) for row in postgres.fetch(query, pg)), key=repr)
            if mine != theirs:
                first = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b),
                             min(len(mine), len(theirs)))
                differences.append(f"{schema}.{table}: {len(mine)} rows on DuckDB, {len(theirs)} on Postgres; "
                                   f"first difference at sorted row {first}: "
                                   f"{dict(zip(columns, mine[first], strict=True)) if first < len(mine) else None} ≠ "
                                   f"{dict(zip(columns, theirs[first], strict=True)) if first < len(theirs) else None}")
    finally:
        con.close()
        pg.close()
    assert differences == []
