"""A night's warehouse built on Apache Spark from the home's files, read in place.

The first part of the Spark warehouse (not yet a ``[warehouse] kind``): ``build_on_spark`` runs the dbt project
with dbt-spark (its ``session`` method, a local Spark unless ``LIFECYCLE_SPARK_MASTER`` names another master) on a
home whose night has been built. Every source with a file behind it (the feeds, the quarantine, the night's
pipeline files, the engines' outputs) and every export register is a Spark view over its Parquet: nothing is
copied. The models, seeds and data tests are built into a Spark warehouse folder, whose tables are Parquet files
DuckDB can read; ``tests/test_spark.py`` compares them, table by table, with the night's DuckDB warehouse.

dbt runs in a process of its own (``python -m lifecycle.io.spark``), which starts the Spark session, creates the
views, then invokes dbt in that process: dbt-spark's session method takes the session it finds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
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
    views = []
    for node in manifest["sources"].values():
        location = (node.get("config", {}).get("meta") or node.get("meta") or {}).get("external_location")
        match = _LOCATION.search(location or "")
        if match:
            path = settings.home / match.group(1).format(name=node["name"])
            views.append((node["schema"], node["identifier"], f"select * from parquet.`{path}`"))
    register = settings.state / "register"
    for folder in sorted(p for p in register.iterdir() if p.is_dir()) if register.exists() else []:
        if any(folder.glob("*.parquet")):
            views.append(("raw", f"register_{folder.name}",
                          f"select *, {_REGISTER_NIGHT} as register_night from parquet.`{folder}/*.parquet`"))
    return sorted(views)


def target_dir(settings: Settings) -> Path:
    """dbt's target folder for the Spark builds (its own: the DuckDB parse is kept apart)."""
    return settings.state / "dbt-spark"


def build_on_spark(settings: Settings, warehouse_dir: Path, command: tuple[str, ...] = SPARK_BUILD) -> list[dict]:
    """Run a dbt command (by default the night's build and data tests) on Spark for the night the home's build
    folder holds, its tables written under ``warehouse_dir``; returns dbt's results."""
    from lifecycle.io.dbt import manifest_json

    target = target_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    (target / "run_results.json").unlink(missing_ok=True)
    (target / "spark_views.json").write_text(json.dumps(source_views(manifest_json(settings), settings)),
                                              encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "lifecycle.io.spark", str(settings.home), str(warehouse_dir),
                          *command], capture_output=True, text=True,
                         env={**os.environ, "LIFECYCLE_HOME": str(settings.home),
                              "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    results = target / "run_results.json"
    if not results.exists():
        raise RuntimeError(f"dbt {command[0]} --target spark did not run (exit {run.returncode}): "
                           f"{(run.stdout + run.stderr)[-3000:]}")
    return json.loads(results.read_text(encoding="utf-8"))["results"]


def _main(argv: list[str]) -> int:  # pragma: no cover - run as its own process by build_on_spark
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

    from lifecycle.io.dbt import DBT_PROJECT_DIR
    from lifecycle.settings import get_settings

    home, warehouse_dir, command = Path(argv[0]), Path(argv[1]), argv[2:]
    settings = get_settings(home)
    target = target_dir(settings)
    spark = (SparkSession.builder.master(os.environ.get("LIFECYCLE_SPARK_MASTER", "local[2]"))
             .appName("subscription-lifecycle")
             .config("spark.sql.warehouse.dir", str(warehouse_dir))
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.parquet.mergeSchema", "true")  # a register written before a column existed
             .config("spark.sql.shuffle.partitions", "1")
             .config("spark.ui.enabled", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    for schema, name, query in json.loads((target / "spark_views.json").read_text(encoding="utf-8")):
        spark.sql(f"create database if not exists `{schema}`")
        spark.sql(f"create or replace view `{schema}`.`{name}` as {query}")
    result = dbtRunner().invoke([
        *command, "--target", "spark", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target), "--log-path", str(target / "logs"),
        "--vars", json.dumps(settings.dbt_vars(), sort_keys=True)])
    return 0 if result.success else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
