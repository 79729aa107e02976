"""Where the export register lives: ``state/register/<export>/<D>.parquet``, one file per export and night.

The register (``lifecycle.io.register``) writes these files and calls the cut-over rule
(``lifecycle.io.cutover.guard``) before it records anything; the rule reads which nights the register already
holds. Both take the register's paths from here, so neither imports the other's module back.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from lifecycle.settings import Settings


def register_dir(settings: Settings, export: str) -> Path:
    return settings.state / "register" / export


def register_path(settings: Settings, export: str, night: date) -> Path:
    return register_dir(settings, export) / f"{night.isoformat()}.parquet"


def register_folders(settings: Settings) -> list[Path]:
    """Every export's register folder that holds at least one night, in name order."""
    root = settings.state / "register"
    return [folder for folder in sorted(p for p in root.iterdir() if p.is_dir()) if any(folder.glob("*.parquet"))
            ] if root.exists() else []
