"""The one DbtProject of the code location and how its nodes become Dagster assets.

Kept alone: the asset specs are read from ``dbt_project/target/manifest.json`` when the code location is
imported (``make install`` and the test suite's conftest run ``dbt parse`` first; ``ensure_manifest`` does
it when the file is missing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from lifecycle.io.dbt import DBT_PROJECT_DIR

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """dbt from this interpreter's environment (the venv's bin/ need not be on PATH)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def prepare_manifest() -> Path:
    """``dbt parse``: writes target/manifest.json, which the asset specs are read from at import.

    Parsed into a folder of this process's own, then moved into place in one ``os.replace``: processes that
    parse at once (the test suite's workers) never leave, or read, a manifest half written by another."""
    target = dbt_project.manifest_path.parent
    own = target / f".parse-{os.getpid()}"
    try:
        subprocess.run(
            [dbt_executable(), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(own)],
            cwd=DBT_PROJECT_DIR, check=True,
        )
        os.replace(own / "manifest.json", dbt_project.manifest_path)
    finally:
        shutil.rmtree(own, ignore_errors=True)
    return dbt_project.manifest_path


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing (outside `dagster dev`, nobody else does)."""
    if not dbt_project.manifest_path.exists():
        prepare_manifest()
    return dbt_project.manifest_path


class WarehouseTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "warehouse"


#: dbt tests are not one Dagster asset check each (hundreds of planned and result events a night): the
#: night's gates run them, record one check per domain, and put each failing test on its model's asset.
TRANSLATOR = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=False))


@cache
def project_manifest() -> dict[str, Any]:
    return json.loads(ensure_manifest().read_text(encoding="utf-8"))


def node_key(unique_id: str) -> AssetKey:
    """The asset key of a dbt model, seed or source of the project."""
    manifest = project_manifest()
    return TRANSLATOR.get_asset_spec(manifest, unique_id, dbt_project).key


def model_id(name: str) -> str:
    uid = f"model.{project_manifest()['metadata'].get('project_name', 'subscription_lifecycle')}.{name}"
    if uid not in project_manifest()["nodes"]:
        raise KeyError(f"no dbt model named {name}")
    return uid


def model_key(name: str) -> AssetKey:
    return node_key(model_id(name))
