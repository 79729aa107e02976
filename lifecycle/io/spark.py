"""Finance's warehouse on Apache Spark (``[warehouse] kind = "spark"``): the night built by the same dbt models on
Spark, from the home's files read in place, tested there, and published by switching one link.

``build_on_spark`` runs the dbt project with dbt-spark's ``session`` method in a process of its own
(``python -m lifecycle.pipelines.spark_build``). That process starts the Spark session (``[warehouse] spark_master``:
``local[N]`` on one machine, a cluster's master URL; ``LIFECYCLE_SPARK_MASTER`` overrides it), makes every source
with a file behind it (the feeds, the quarantine, the night's pipeline files, the engines' outputs) and every
export register a Spark view over its Parquet (nothing is copied), then invokes dbt there: dbt-spark's session
method takes the session it finds. The models, seeds and data tests are written under the night's own folder
(``spark.sql.warehouse.dir``), as Parquet tables ``<schema>.db/<table>``. With ``[warehouse] spark_engines`` the
build runs step by step and the engines run on Spark between the steps (lifecycle.io.spark_engines), instead of
reading the DuckDB night's engine files.

Write, audit, publish (``build_night``, the night's gates, ``publish_night``: the night's last step when the kind
is ``spark``, lifecycle/assets/server.py): once the night is published on DuckDB, it is built and tested in
``<spark_warehouse>/nights/<D>.build``; the gates judge dbt's results domain by domain; only when every gate
passed does the folder become ``nights/<D>.<k>`` and the link ``<spark_warehouse>/published`` switch to it, with
one ``rename`` of a new link over the old: a reader that resolved the link reads one night, never a mix. The
previous night's folder is kept until the next publication (a reader may still be on it); older ones go. A
failed build or test leaves the published night in place.

Readers: ``register_published`` makes the published tables external tables of a Spark session's catalog
(``marts.fct_invoices``); ``attach_published`` makes them views of a DuckDB connection, which reads the Parquet.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lifecycle.settings import Settings

#: the night's data tests and every model and seed; the unit tests test the models' code on DuckDB and PostgreSQL
SPARK_BUILD = ("build", "--exclude-resource-type", "unit_test")

_LOCATION = re.compile(r"read_parquet\('([^']+)'")
#: an export register's night, from its file's name (``state/register/<export>/<night>.parquet``)
_REGISTER_NIGHT = r"cast(regexp_extract(_metadata.file_path, '(\\d{4}-\\d{2}-\\d{2})\\.parquet$', 1) as date)"


def unavailable() -> str | None:
    """Why Spark cannot run here (no pyspark or dbt-spark installed, no Java), or None."""
    for module, package in (("pyspark", "pyspark"), ("dbt.adapters.spark", "dbt-spark")):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{package} is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (Spark needs one: Debian's openjdk-17-jre-headless)"
    return None


def source_views(manifest: Mapping[str, Any], settings: Settings) -> list[tuple[str, str, str]]:
    """``(schema, name, Spark SQL query)`` of every source with a file behind it and every export register."""
    from lifecycle.io.dbt import source_locations
    from lifecycle.io.register_paths import register_folders

    views = []
    for node, location in source_locations(manifest):
        match = _LOCATION.search(location)
        if match:
            path = settings.home / match.group(1)
            views.append((node["schema"], node["identifier"], f"select * from parquet.`{path}`"))
    for folder in register_folders(settings):
        views.append(("raw", f"register_{folder.name}",
                      f"select *, {_REGISTER_NIGHT} as register_night from parquet.`{folder}/*.parquet`"))
    return sorted(views)


def target_dir(settings: Settings) -> Path:
    """dbt's target folder for the Spark builds (its own: the DuckDB parse is kept apart)."""
    return settings.state / "dbt-spark"


def build_on_spark(settings: Settings, warehouse_dir: Path, command: tuple[str, ...] = SPARK_BUILD,
                   engines_of: date | None = None) -> list[dict]:
    """Run a dbt command (by default the night's build and data tests) on Spark for the night the home's build
    folder holds, its tables written under ``warehouse_dir``; returns dbt's results.

    With ``engines_of`` (night D) and ``[warehouse] spark_engines``, the build runs step by step as on DuckDB and
    the engines run on Spark between the steps (lifecycle.io.spark_engines), on the Spark night's own models,
    instead of reading the DuckDB night's engine files."""
    from lifecycle.io.dbt import manifest_json

    target = target_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    (target / "run_results.json").unlink(missing_ok=True)
    engines = target / "spark_engines.json"
    engines.unlink(missing_ok=True)
    if engines_of is not None and settings.spark_engines and command == SPARK_BUILD:
        engines.write_text(json.dumps({"business_date": engines_of.isoformat()}), encoding="utf-8")
    (target / "spark_views.json").write_text(json.dumps(source_views(manifest_json(settings), settings)),
                                              encoding="utf-8")
    env = {**os.environ, "LIFECYCLE_HOME": str(settings.home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.setdefault("LIFECYCLE_SPARK_MASTER", settings.spark_master)
    env.setdefault("PYSPARK_PYTHON", sys.executable)  # the engines' workers need this environment's packages
    run = subprocess.run([sys.executable, "-m", "lifecycle.pipelines.spark_build", str(settings.home), str(warehouse_dir),
                          *command], capture_output=True, text=True, env=env)
    results = target / "run_results.json"
    if not results.exists():
        raise RuntimeError(f"dbt {command[0]} --target spark did not run (exit {run.returncode}): "
                           f"{(run.stdout + run.stderr)[-3000:]}")
    return json.loads(results.read_text(encoding="utf-8"))["results"]


# -- write, audit, publish ---------------------------------------------------------------------------------------

class SparkPublishError(Exception):
    """The night could not be published on Spark; the published night stays."""


@dataclass
class SparkNight:
    """What became of a night on Spark."""
    business_date: date
    published: bool
    folder: Path
    seconds: dict[str, float] = field(default_factory=dict)  # build, publish
    models: int = 0
    tests: int = 0
    results: list[dict] = field(default_factory=list)  # dbt's run results of the build, for the gates


def nights_dir(settings: Settings) -> Path:
    return settings.spark_warehouse / "nights"


def published_link(settings: Settings) -> Path:
    """The link to the published night's folder (absent before the first publication)."""
    return settings.spark_warehouse / "published"


def table_files(folder: Path, schema: str, table: str) -> str:
    """The glob of a Spark table's Parquet files in a night's folder."""
    return str(folder / f"{schema}.db" / table / "*.parquet")


def tables(folder: Path) -> list[tuple[str, str]]:
    """(schema, table) of every table a night's folder holds (a table is a folder of Parquet files)."""
    return sorted((schema.name.removesuffix(".db"), table.name) for schema in folder.glob("*.db")
                  for table in schema.iterdir() if table.is_dir() and any(table.glob("*.parquet")))


def _night_in(folder: Path) -> date | None:
    """The business date a night's folder holds (its ``marts.warehouse_night``), None when it holds none."""
    import pyarrow.parquet as pq

    files = sorted((folder / "marts.db" / "warehouse_night").glob("*.parquet"))
    days = [d for f in files for d in pq.read_table(f, columns=["business_date"]).column(0).to_pylist()]
    return days[0] if len(days) == 1 else None


def published_night(settings: Settings) -> date | None:
    """The night the published Spark warehouse holds, or None before the first publication."""
    link = published_link(settings)
    return _night_in(link.resolve()) if link.is_symlink() else None


def build_night(settings: Settings, day: date) -> SparkNight:
    """Write: build and test night ``day`` in a folder of its own (``nights/<D>.build``, made anew). Its dbt
    results are ``results``; the caller audits them (the gates) before ``publish_night``."""
    folder = nights_dir(settings) / f"{day.isoformat()}.build"
    shutil.rmtree(folder, ignore_errors=True)  # what a failed night left
    folder.parent.mkdir(parents=True, exist_ok=True)
    night = SparkNight(day, published=False, folder=folder)
    started = time.perf_counter()
    night.results = build_on_spark(settings, folder, engines_of=day)
    night.seconds["build"] = time.perf_counter() - started
    # the engines' share of the build, when they ran on Spark
    engines = json.loads((target_dir(settings) / "run_results.json").read_text(encoding="utf-8")).get("engine_seconds")
    if engines:
        night.seconds["engines"] = sum(engines.values())
    night.models = sum(r["unique_id"].startswith(("model.", "seed.")) for r in night.results)
    night.tests = sum(r["unique_id"].startswith("test.") for r in night.results)
    return night


def publish_night(settings: Settings, night: SparkNight) -> SparkNight:
    """Publish: the audited build becomes ``nights/<D>.<k>`` and the ``published`` link switches to it, unless
    the published night is a later one (finance is not taken back in time). Call it only when the audit passed."""
    built = _night_in(night.folder)
    if built != night.business_date:
        raise SparkPublishError(f"{night.folder} holds night {built}, not {night.business_date}")
    current = published_night(settings)
    if current is not None and current > night.business_date:
        return night
    started = time.perf_counter()
    link = published_link(settings)
    previous = link.resolve() if link.is_symlink() else None
    day = night.business_date.isoformat()
    versions = [int(p.suffix[1:]) for p in nights_dir(settings).glob(f"{day}.*") if p.suffix[1:].isdigit()]
    folder = night.folder.with_name(f"{day}.{max(versions, default=0) + 1}")
    night.folder.rename(folder)
    fresh = link.with_name(f".published-{os.getpid()}")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(folder.relative_to(link.parent))
    os.replace(fresh, link)  # the publication: one rename over the old link
    night.folder, night.published = folder, True
    for old in nights_dir(settings).iterdir():  # the previous night stays for its readers; older ones go
        if old.is_dir() and old.resolve() not in (folder.resolve(), previous) and not old.name.endswith(".build"):
            shutil.rmtree(old, ignore_errors=True)
    night.seconds["publish"] = time.perf_counter() - started
    return night


def _published_tables(settings: Settings, view) -> date | None:
    """Call ``view(schema, table, folder of its Parquet)`` for every table of the published night, as the link
    names it now; returns that night (None before the first publication)."""
    link = published_link(settings)
    if not link.is_symlink():
        return None
    folder = link.resolve()
    for schema, table in tables(folder):
        view(schema, table, folder / f"{schema}.db" / table)
    return _night_in(folder)


def attach_published(con, settings: Settings) -> date | None:
    """Make the published Spark night's tables views of a DuckDB connection (``marts.fct_invoices``), over the
    folder the link names now; returns that night (None before the first publication)."""
    def view(schema: str, table: str, path: Path) -> None:
        con.execute(f'create schema if not exists "{schema}"')
        files = str(path / "*.parquet").replace("'", "''")
        con.execute(f'create or replace view "{schema}"."{table}" as select * from read_parquet(\'{files}\')')

    return _published_tables(settings, view)


def register_published(session, settings: Settings) -> date | None:
    """Make the published Spark night's tables tables of a Spark session's catalog (``marts.fct_invoices``):
    external Parquet tables over the folder the link names now, made anew at each call (a table of that name
    that is not such an external table is left alone, and refused); returns that night (None before the first
    publication)."""
    def table_over(schema: str, table: str, path: Path) -> None:
        session.sql(f"create database if not exists `{schema}`")
        name = f"`{schema}`.`{table}`"
        if session.catalog.tableExists(f"{schema}.{table}"):
            if session.catalog.getTable(f"{schema}.{table}").tableType != "EXTERNAL":
                raise SparkPublishError(f"{schema}.{table} is a table of the catalog's own, not the published night's")
            session.sql(f"drop table {name}")  # an external table: only its entry goes, not its files
        session.sql(f"create table {name} using parquet location '{path}'")

    return _published_tables(settings, table_over)
