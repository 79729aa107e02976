"""The one DbtProject of the code location (kept alone: @dbt_assets reads its manifest at import)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """dbt from this interpreter's environment (the venv's bin/ need not be on PATH)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def prepare_manifest() -> Path:
    """``dbt parse``: writes target/manifest.json, which @dbt_assets reads at import."""
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR, check=True,
    )
    return dbt_project.manifest_path


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing (outside `dagster dev`, nobody else does)."""
    if not dbt_project.manifest_path.exists():
        prepare_manifest()
    return dbt_project.manifest_path
