"""The export register: every line an export file sent, append-only, one Parquet file per export and night.

``state/register/<export>/<D>.parquet`` holds the keys night D wrote (request keys, message ids, …)
with the columns that matter for control totals. A night sends what is due by D and not in the
register of an earlier night, so a night that was skipped is caught up by the next one and nothing
is sent twice. Rerunning D rewrites D's file with the same rows; different rows for a night that
already sent are refused, since what was sent cannot be unsent.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lifecycle.io.cutover import guard
from lifecycle.io.register_paths import register_dir, register_path
from lifecycle.settings import Settings


class RegisterConflict(Exception):
    """A night would rewrite what it already sent."""


def _nights(settings: Settings, export: str) -> list[tuple[date, Path]]:
    folder = register_dir(settings, export)
    if not folder.exists():
        return []
    return sorted((date.fromisoformat(p.stem), p) for p in folder.glob("*.parquet"))


def last_sent_night(settings: Settings) -> date | None:
    """The latest night any export file was written for (its register holds a file for that night)."""
    root = settings.state / "register"
    nights = [date.fromisoformat(p.stem) for p in root.glob("*/*.parquet")] if root.exists() else []
    return max(nights, default=None)


def sent_keys(settings: Settings, export: str, key: str, *, before: date | None = None,
              through: date | None = None) -> set[str]:
    """Keys recorded by the nights before ``before`` (or up to and including ``through``)."""
    keys: set[str] = set()
    for night, path in _nights(settings, export):
        if (before is not None and night >= before) or (through is not None and night > through):
            continue
        keys.update(pq.read_table(path, columns=[key]).column(key).to_pylist())
    return keys


def read_register(settings: Settings, export: str) -> pa.Table | None:
    """Every night's rows of one export, with a ``night`` column; None when nothing was recorded."""
    tables = []
    for night, path in _nights(settings, export):
        t = pq.read_table(path)
        tables.append(t.append_column("night", pa.array([night] * t.num_rows, pa.date32())))
    return pa.concat_tables(tables) if tables else None


@dataclass(frozen=True)
class Staged:
    """A night's register rows written beside their place, waiting for their files (``<D>.parquet.staged``)."""

    path: Path
    final: Path


STAGED = ".parquet.staged"


#: Where each register's files go: register → (folder of exports/ holding night D's files, the folder whose
#: ``<D>/control.json``, written last, says they are complete). The draws are part of the manifests' night.
FILES: dict[str, tuple[str, str]] = {
    "autocharge_requests": ("autocharge", "autocharge"),
    "refund_requests": ("refunds", "refunds"),
    "outbox_messages": ("outbox", "outbox"),
    "notice_mail": ("notices", "notices"),
    "manifest_lines": ("manifests", "manifests"),
    "draws": ("draws", "manifests"),
    "access_changes": ("access", "access"),
}


def night_files(settings: Settings, export: str, night: date) -> tuple[Path, Path]:
    """(the folder of night D's files of ``export``, the control file that says they are complete)."""
    folder, control = FILES[export]
    return (settings.exports / folder / night.isoformat(),
            settings.exports / control / night.isoformat() / "control.json")


def stage(settings: Settings, export: str, night: date, rows: pa.Table, key: str) -> Staged:
    """The first half of sending: check ``rows`` (the cut-over ``guard``; a night already recorded may only
    record the same keys again) and write them staged, before any file of the night is written.

    The export then writes its files and its control file last (``night_files``); :func:`commit` makes the rows
    the register's. A night killed between the two is settled by :func:`recover`, so the register and the files
    never disagree."""
    guard(settings, export, night, rows, key)
    path = register_path(settings, export, night)
    if path.exists():
        before = set(pq.read_table(path, columns=[key]).column(key).to_pylist())
        now = set(rows.column(key).to_pylist())
        if before != now:
            raise RegisterConflict(
                f"{path}: night {night} already sent {len(before)} {export} rows; tonight's run would send "
                f"{len(now - before)} new and drop {len(before - now)}. The register is append-only: "
                "what was sent cannot be unsent."
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.stem + STAGED)
    tmp = staged.with_name(staged.name + ".tmp")
    pq.write_table(rows, tmp)
    os.replace(tmp, staged)
    return Staged(staged, path)


def commit(staged: Staged) -> Path:
    """The second half: the staged rows become the night's register file (one rename)."""
    os.replace(staged.path, staged.final)
    return staged.final


def record(settings: Settings, export: str, night: date, rows: pa.Table, key: str) -> Path:
    """Record at once what night ``night`` sent (both halves, for files already complete)."""
    return commit(stage(settings, export, night, rows, key))


def recover(settings: Settings) -> list[str]:
    """Settle what a killed night left staged; returns one line per export and night settled.

    Files complete (the control file exists): they may have been fetched already, so the staged rows are what
    was sent and become the register's. Files incomplete: nothing was sent; the staged rows and the night's
    partial folder are removed, and the next night sends those rows (a rerun of the night writes them again)."""
    root = settings.state / "register"
    settled = []
    for staged in sorted(root.glob(f"*/*{STAGED}")) if root.exists() else []:
        night = staged.name[: -len(STAGED)]
        export = staged.parent.name
        folder, control = night_files(settings, export, date.fromisoformat(night))
        if control.exists():
            os.replace(staged, staged.with_name(f"{night}.parquet"))
            settled.append(f"{export}: night {night} was interrupted after its files were complete; "
                           "its register rows are recorded")
        else:
            if folder.is_dir():
                shutil.rmtree(folder)
            staged.unlink()
            settled.append(f"{export}: night {night} was interrupted before its files were complete; "
                           f"its partial files ({folder.relative_to(settings.home)}) are removed, nothing was sent")
    return settled


#: What the register audit compares: register name → (export folder, key, count field of the night's control.json).
AUDITED: dict[str, tuple[str, str, str]] = {
    "autocharge_requests": ("autocharge", "request_key", "requests"),
    "refund_requests": ("refunds", "refund_id", "requests"),
    "outbox_messages": ("outbox", "message_id", "messages"),
    "notice_mail": ("notices", "notice_id", "letters"),
    "manifest_lines": ("manifests", "manifest_line_id", "lines"),
    "access_changes": ("access", "change_id", "changes"),
}


def audit(settings: Settings, night: date) -> list[str]:
    """The register against the files night D wrote (docs/lifecycle.md, "Exports and the export register"): no key
    recorded by two nights up to D, and each file's control total = the rows D recorded as sent (baseline rows are state, not
    sent). Returns one line per problem; an export that wrote nothing for D (withheld) is not judged."""
    import json

    problems = []
    for export, (folder, key, count_field) in AUDITED.items():
        path = register_path(settings, export, night)
        if not path.exists():
            continue
        tonight = pq.read_table(path)
        sent = tonight.num_rows
        if "baseline" in tonight.column_names:
            sent -= sum(bool(b) for b in tonight.column("baseline").to_pylist())
        if "action" in tonight.column_names:
            sent -= sum(a == "baseline" for a in tonight.column("action").to_pylist())
        control_path = settings.exports / folder / night.isoformat() / "control.json"
        if not control_path.exists():
            problems.append(f"{export}: night {night} is in the register but {control_path} is missing")
        else:
            written = json.loads(control_path.read_text(encoding="utf-8"))[count_field]
            if written != sent:
                problems.append(f"{export}: {control_path.relative_to(settings.home)} says {written} {count_field}, "
                                f"the register holds {sent} for night {night}")
        keys = set(tonight.column(key).to_pylist())
        if len(keys) != tonight.num_rows:
            problems.append(f"{export}: night {night} recorded a key twice")
        earlier = sent_keys(settings, export, key, before=night)
        twice = sorted(keys & earlier)
        if twice:
            problems.append(f"{export}: {len(twice)} keys of night {night} were already sent by an earlier night, "
                            f"e.g. {twice[0]}")
    return problems
