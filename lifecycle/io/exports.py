"""The night's billing export files, written from the published warehouse and recorded in the register.

* ``exports/autocharge/<D>/requests.csv``: the autocharge attempts the payment processor must make.
* ``exports/outbox/<D>/messages.jsonl``: the customer messages for the messaging platform.
* ``exports/outbox/<D>/deliveries.csv``: what the optional webhook delivery did with them.

Each file holds what is due by D, sendable, and not in the export register of an earlier night
(``lifecycle.io.register``): a skipped night is caught up by the next one, nothing is sent twice,
and rerunning D writes the same bytes. A ``control.json`` beside each file carries its control
totals. Only a published night exports: the files are read from the audited warehouse.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from lifecycle.io import register
from lifecycle.io.warehouse import connect_published, last_published_date
from lifecycle.io.webhook import Delivery, deliver
from lifecycle.settings import Settings

REQUEST_COLUMNS = (
    "request_key", "request_date", "attempt", "customer_id", "subscription_id", "term_number",
    "renewal_offer_id", "amount", "currency", "payment_method_token",
)
DELIVERY_COLUMNS = ("message_id", "night", "status", "attempts", "http_status", "error")
#: Stop delivering for the night once this many messages in a row failed (the platform is down):
#: the rest stay undelivered and are tried again on the next run.
DELIVERY_BREAKER = 20


class NotPublished(Exception):
    """Night D is not the published night: there is nothing audited to export."""


@dataclass
class ExportResult:
    path: Path
    rows: int
    control: dict = field(default_factory=dict)


def _unsent(settings: Settings, night: date, export: str, key: str, sql: str) -> list[tuple]:
    """The rows of ``sql`` (its first column is the key, ``?`` is the night) not in an earlier night's register."""
    published = last_published_date(settings)
    if published != night:
        raise NotPublished(f"night {night} is not published (published: {published}); nothing is exported "
                           "from an unaudited night")
    con = connect_published(settings)
    try:
        rows = con.execute(sql, [night]).fetchall()
    finally:
        con.close()
    sent = register.sent_keys(settings, export, key, before=night)
    return [r for r in rows if r[0] not in sent]


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)


def _write_control(folder: Path, control: dict) -> None:
    _write_atomic(folder / "control.json", json.dumps(control, indent=1, sort_keys=True) + "\n")


def export_autocharge_requests(settings: Settings, night: date) -> ExportResult:
    """``exports/autocharge/<D>/requests.csv``: attempts due by D, sent from the cut-over on, not sent before."""
    rows = _unsent(
        settings, night, "autocharge_requests", "request_key",
        f"select {', '.join(REQUEST_COLUMNS)} from marts.fct_autocharge_requests "
        "where is_sent and request_date <= ? order by request_date, request_key",
    )
    folder = settings.exports / "autocharge" / night.isoformat()
    lines: list[list[str]] = [list(REQUEST_COLUMNS)]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        lines.append([v.isoformat() if isinstance(v, date) else str(v) for v in r])
        totals[r[8]] += r[7]
    path = folder / "requests.csv"
    _write_atomic(path, _csv_text(lines))
    control = {
        "business_date": night.isoformat(),
        "file": "requests.csv",
        "requests": len(rows),
        "amount_by_currency": {c: str(a) for c, a in sorted(totals.items())},
    }
    _write_control(folder, control)
    register.record(
        settings, "autocharge_requests", night,
        pa.table({
            "request_key": pa.array([r[0] for r in rows], pa.string()),
            "request_date": pa.array([r[1] for r in rows], pa.date32()),
            "customer_id": pa.array([r[3] for r in rows], pa.string()),
            "amount": pa.array([r[7] for r in rows], pa.decimal128(18, 2)),
            "currency": pa.array([r[8] for r in rows], pa.string()),
        }),
        key="request_key",
    )
    return ExportResult(path, len(rows), control)


def _csv_text(lines: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    return buffer.getvalue()


def export_outbox(settings: Settings, night: date) -> ExportResult:
    """``exports/outbox/<D>/messages.jsonl``: one JSON object per message due by D and not yet sent."""
    rows = _unsent(
        settings, night, "outbox_messages", "message_id",
        "select message_id, message_type, effort_number, customer_id, subscription_id, source_id, due_date, "
        "channel, recipient, first_name, last_name, template_variables from marts.fct_outbox_messages "
        "where is_sent and channel is not null and due_date <= ? order by due_date, message_id",
    )
    folder = settings.exports / "outbox" / night.isoformat()
    lines = []
    for r in rows:
        message = {
            "message_id": r[0],
            "message_type": r[1],
            "effort_number": r[2],
            "customer_id": r[3],
            "subscription_id": r[4],
            "about": r[5],
            "due_date": r[6].isoformat(),
            "channel": r[7],
            "recipient": r[8],
            "first_name": r[9],
            "last_name": r[10],
            "variables": json.loads(r[11]),
        }
        lines.append(json.dumps(message, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    path = folder / "messages.jsonl"
    _write_atomic(path, "".join(line + "\n" for line in lines))
    by_type = Counter(r[1] for r in rows)
    by_channel = Counter(r[7] for r in rows)
    control = {
        "business_date": night.isoformat(),
        "file": "messages.jsonl",
        "messages": len(rows),
        "by_type": dict(sorted(by_type.items())),
        "by_channel": dict(sorted(by_channel.items())),
    }
    _write_control(folder, control)
    register.record(
        settings, "outbox_messages", night,
        pa.table({
            "message_id": pa.array([r[0] for r in rows], pa.string()),
            "message_type": pa.array([r[1] for r in rows], pa.string()),
            "customer_id": pa.array([r[3] for r in rows], pa.string()),
            "channel": pa.array([r[7] for r in rows], pa.string()),
            "due_date": pa.array([r[6] for r in rows], pa.date32()),
        }),
        key="message_id",
    )
    return ExportResult(path, len(rows), control)


@dataclass
class DeliveryResult:
    path: Path | None
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    skipped_reason: str = ""


def _deliveries(settings: Settings, through: date) -> dict[str, list[dict]]:
    """Every deliveries.csv of the nights up to ``through``, by message id."""
    out: dict[str, list[dict]] = defaultdict(list)
    root = settings.exports / "outbox"
    if not root.exists():
        return out
    for path in sorted(root.glob("*/deliveries.csv")):
        if date.fromisoformat(path.parent.name) > through:
            continue
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                out[row["message_id"]].append(row)
    return out


def deliver_outbox(settings: Settings, night: date, *, sleep: Callable[[float], object] = time.sleep,
                   backoff_seconds: tuple[float, ...] = (1, 4, 15)) -> DeliveryResult:
    """POST every message written up to night D and not yet delivered to the webhook (settings).

    Messages of earlier nights that failed are tried again; ``deliveries.csv`` of night D records
    each attempt's outcome (a rerun appends to it), and is what makes a message count as delivered.
    """
    if not settings.webhook_url:
        return DeliveryResult(None, skipped_reason="no webhook_url in lifecycle.toml [communications]")
    done = {mid for mid, rows in _deliveries(settings, night).items() if any(r["status"] == "delivered" for r in rows)}
    pending = []
    for path in sorted((settings.exports / "outbox").glob("*/messages.jsonl")):
        if date.fromisoformat(path.parent.name) > night:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            message = json.loads(line)
            if message["message_id"] not in done:
                pending.append(message)
    results: list[Delivery] = []
    failed_in_a_row = 0
    for start in range(0, len(pending), DELIVERY_BREAKER):
        batch = deliver(pending[start : start + DELIVERY_BREAKER], settings.webhook_url,
                        max_attempts=settings.webhook_max_attempts, backoff_seconds=backoff_seconds, sleep=sleep)
        results.extend(batch)
        failed_in_a_row = 0 if any(d.status == "delivered" for d in batch) else failed_in_a_row + len(batch)
        if failed_in_a_row >= DELIVERY_BREAKER:
            break  # the platform is down: the rest waits for the next run
    path = settings.exports / "outbox" / night.isoformat() / "deliveries.csv"
    previous: list[list[str]] = []
    if path.exists():
        with path.open(encoding="utf-8", newline="") as f:
            previous = [row for row in csv.reader(f)][1:]
    lines = [list(DELIVERY_COLUMNS), *previous]
    for d in results:
        lines.append([d.message_id, night.isoformat(), d.status, str(d.attempts),
                      "" if d.http_status is None else str(d.http_status), d.error or ""])
    _write_atomic(path, _csv_text(lines))
    delivered = sum(d.status == "delivered" for d in results)
    return DeliveryResult(path, len(results), delivered, len(results) - delivered)
