"""Nothing in the export register is dated before the cut-over (docs/computations.md, "Migration and cut-over":
migrated rows build state, but nothing due before the cut-over is produced — no messages, efforts, requests,
notices, manifests or access changes for the past).

Every register row carries the date it fell due (``REGISTER_DATES``): an autocharge, refund or letter request's
``request_date``, a message's ``due_date``, a manifest line's issue ``list_close_date`` (the night its manifest is
built) on the first manifest night, and the night that sends it afterwards (a supplementary copy of an issue whose
list closed before the cut-over, entitled since). Access changes are dated by the night that sent them. Rows recorded without being sent — the cut-over
night's baseline of what the legacy system had already sent (access ``baseline`` rows, manifest lines of issues
whose list closed before the cut-over) — are exempt: they are state, not output.

:func:`guard` runs inside ``register.record`` on every export of every night (an export that would record a
row of the past fails, naming it); :func:`register_rows_before_cutover` scans a whole register (tests and
audits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from lifecycle.io.register_paths import register_dir
from lifecycle.settings import Settings

#: The column holding each export's due date; None = the night that sent it.
REGISTER_DATES: dict[str, str | None] = {
    "autocharge_requests": "request_date",
    "refund_requests": "request_date",
    "notice_mail": "request_date",
    "outbox_messages": "due_date",
    "manifest_lines": "list_close_date",
    "access_changes": None,
    "draws": None,
}


class SentBeforeCutover(Exception):
    """An export would record (send) something due before the cut-over."""


@dataclass(frozen=True)
class Violation:
    export: str
    night: date
    key: str
    due: date | None

    def __str__(self) -> str:
        due = f"due {self.due}" if self.due is not None else f"sent on night {self.night}"
        return f"{self.export} {self.key} ({due})"


def _sent_mask(export: str, table: pa.Table) -> list[bool]:
    """Which rows were sent (not a baseline recorded as state)."""
    if export == "access_changes" and "action" in table.column_names:
        return [a != "baseline" for a in table.column("action").to_pylist()]
    if "baseline" in table.column_names:
        return [not b for b in table.column("baseline").to_pylist()]
    return [True] * table.num_rows


def violations(settings: Settings, export: str, night: date, table: pa.Table, key: str) -> list[Violation]:
    """The rows of ``table`` (what ``export`` sent on ``night``) that fell due before the cut-over."""
    cutover = settings.cutover_date
    if cutover is None or table.num_rows == 0:
        return []
    column = REGISTER_DATES.get(export)
    keys = table.column(key).to_pylist()
    sent = _sent_mask(export, table)
    if export == "manifest_lines" and _has_earlier_night(settings, export, night):
        # After the first manifest night, a line of an issue whose list closed before the cut-over is a
        # supplementary copy entitled since (everything entitled earlier was recorded as the legacy's baseline
        # on the first night): it falls due on the night that sends it.
        column = None
    if column is None or column not in table.column_names:
        dues = [None] * table.num_rows
        late = [night < cutover] * table.num_rows
    else:
        dues = table.column(column).to_pylist()
        late = [d is not None and d < cutover for d in dues]
    return [Violation(export, night, k, d) for k, d, s, bad in zip(keys, dues, sent, late, strict=True) if s and bad]


def _has_earlier_night(settings: Settings, export: str, night: date) -> bool:
    folder = register_dir(settings, export)
    return folder.exists() and any(date.fromisoformat(p.stem) < night for p in folder.glob("*.parquet"))


def guard(settings: Settings, export: str, night: date, table: pa.Table, key: str) -> None:
    """Refuse to record what falls due before the cut-over (called by ``register.record``)."""
    found = violations(settings, export, night, table, key)
    if found:
        shown = "; ".join(str(v) for v in found[:5])
        raise SentBeforeCutover(
            f"night {night}: {export} would send {len(found)} row(s) due before the cut-over "
            f"{settings.cutover_date} (e.g. {shown}); the legacy system produced everything due before it"
        )


def register_rows_before_cutover(settings: Settings) -> list[Violation]:
    """Every row of every export register that was sent although due before the cut-over (should be none)."""
    import pyarrow.parquet as pq

    root = settings.state / "register"
    found: list[Violation] = []
    if not root.exists():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        export = folder.name
        for path in sorted(register_dir(settings, export).glob("*.parquet")):
            table = pq.read_table(path)
            key = table.column_names[0]
            found += violations(settings, export, date.fromisoformat(path.stem), table, key)
    return found
