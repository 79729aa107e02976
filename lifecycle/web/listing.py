"""What the ops page lists: every folder ``exports/<kind>/<date-or-period>/[<sub>/]`` with its files and control totals.

Nothing here knows the export kinds: a new kind (fulfillment's ``manifests/<D>/<shipper>/``) appears
as soon as its files do. A folder named ``YYYY-MM`` is a period (the GL's): it is shown with every
date of that month.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lifecycle.web.safepath import is_listed_name, resolve_download

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CONTROL_FILE = "control.json"


@dataclass(frozen=True)
class ExportFile:
    path: str  # relative to exports/, POSIX: what the download link names
    name: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class ExportFolder:
    kind: str
    key: str  # the date (YYYY-MM-DD), period (YYYY-MM) or other name of the folder
    sub: str  # shipper, printer…: "" when the files sit in the date folder itself
    files: tuple[ExportFile, ...]
    control: tuple[tuple[str, str], ...]  # control.json as readable (label, value) lines
    control_error: str = ""


def scan(exports: Path) -> list[ExportFolder]:
    """Every folder of ``exports`` holding files, sorted by kind, date and sub-folder."""
    folders: list[ExportFolder] = []
    for kind in _subdirs(exports, exports):
        for dated in _subdirs(exports, kind):
            folders.append(_folder(exports, dated, kind.name, dated.name, ""))
            folders.extend(_folder(exports, sub, kind.name, dated.name, sub.name) for sub in _subdirs(exports, dated))
    return sorted((f for f in folders if f.files), key=lambda f: (f.kind, f.key, f.sub))


def keys(folders: list[ExportFolder]) -> list[str]:
    """What the date picker offers, newest first: every date, and every period none of whose dates has files."""
    dates = {f.key for f in folders if DATE.fullmatch(f.key)}
    others = {f.key for f in folders if not DATE.fullmatch(f.key)}
    shown_with_a_date = {d[:7] for d in dates}
    return sorted(dates | (others - shown_with_a_date), reverse=True)


def latest_key(folders: list[ExportFolder]) -> str | None:
    """The newest date (a period or another name only when there is no date)."""
    offered = keys(folders)
    dated = [k for k in offered if DATE.fullmatch(k)]
    return (dated or offered or [None])[0]


def folders_for(folders: list[ExportFolder], key: str) -> list[ExportFolder]:
    """The folders shown for ``key``: its own, and for a date the folders of its period."""
    period = key[:7] if DATE.fullmatch(key) else None
    return [f for f in folders if f.key in (key, period)]


def by_kind(folders: list[ExportFolder]) -> dict[str, list[ExportFolder]]:
    grouped: dict[str, list[ExportFolder]] = {}
    for folder in folders:
        grouped.setdefault(folder.kind, []).append(folder)
    return grouped


def control_lines(control: object) -> tuple[tuple[str, str], ...]:
    """A control.json as (label, value) lines: ``amount_by_currency`` → ("Amount by currency", "EUR 10.00 · USD 5.00")."""
    if not isinstance(control, dict):
        return (("Control", _value(control)),)
    return tuple((_label(k), _value(v)) for k, v in control.items())


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value, units = size / 1024, ["KB", "MB", "GB", "TB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.1f} {units[0]}"


def _subdirs(exports: Path, folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` that are visible and resolve inside ``exports`` (a symlink out is not followed)."""
    root = exports.resolve()
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [e for e in entries if is_listed_name(e.name) and e.is_dir() and e.resolve().is_relative_to(root)]


def _folder(exports: Path, folder: Path, kind: str, key: str, sub: str) -> ExportFolder:
    files = []
    for entry in sorted(folder.iterdir()):
        relative = entry.relative_to(exports).as_posix()
        if entry.is_dir() or resolve_download(exports, relative) is None:
            continue
        st = entry.stat()
        files.append(ExportFile(relative, entry.name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
    control: tuple[tuple[str, str], ...] = ()
    error = ""
    if any(f.name == CONTROL_FILE for f in files):  # read only when the path rule would serve it
        try:
            control = control_lines(json.loads((folder / CONTROL_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:  # shown on the page: the totals are what ops check a file against
            error = f"{CONTROL_FILE} cannot be read: {exc}"
    return ExportFolder(kind, key, sub, tuple(files), control, error)


def _label(key: object) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "–"
    if isinstance(value, dict):
        return " · ".join(f"{k} ({_value(v)})" if isinstance(v, dict) else f"{k} {_value(v)}"
                          for k, v in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "none"
    return str(value)
