"""The sample payment processor: answers every refund request the pipeline sends.

Night D writes ``exports/refunds/<D>/requests.csv`` (one row per refund decided, ``refund_id`` its key).
A real processor pays each refund and reports it back as a payment row with status ``refunded`` naming
``original_payment_id`` (docs/feeds.md, `payments`); the pipeline posts it Dr refunds payable, Cr cash
clearing. :func:`answer_refund_requests` plays that processor for the sample publisher: after night D
has exported, it appends one answer per request to the payments landing file of the first later date
that has not been ingested yet (landing is append-only only for ingested dates), creating the file
when there is none. Each answer carries the exact amount and currency asked for, the customer, the
original payment and its method, and echoes the request's ``refund_id`` as ``processor_reference``
(the merchant reference a processor sends back). Its id is derived from the request
(``keys.refund_answer_payment_id``), so answering the same night twice appends nothing.

Refunds decided before the cut-over are not requested (the legacy system paid them): the sample's
history carries the legacy processor's answers (``simulation.Simulation.refund``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from lifecycle.contract import feed
from lifecycle.io.landing import read_register
from lifecycle.keys import refund_answer_payment_id
from lifecycle.settings import Settings

#: Local time of day the sample processor pays refunds out (business time zone).
ANSWER_TIME = time(11, 0)


@dataclass
class ProcessorResult:
    night: date
    answered_on: date | None = None
    path: Path | None = None
    answers: list[dict[str, str]] = field(default_factory=list)
    already_answered: int = 0


def _requests(settings: Settings, night: date) -> list[dict[str, str]]:
    path = settings.exports / "refunds" / night.isoformat() / "requests.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _answer_date(settings: Settings, night: date) -> date:
    """The first date after ``night`` whose payments file has not been ingested (so it may still change)."""
    ingested = set(read_register(settings, "payments"))
    day = night + timedelta(days=1)
    while day.isoformat() in ingested:
        day += timedelta(days=1)
    return day


def _known_payments(settings: Settings) -> dict[str, str]:
    """payment_id → method of every payment in the landing files (the processor knows what it charged)."""
    files = sorted((settings.landing / "payments").glob("*.csv"))
    if not files:
        return {}
    with duckdb.connect() as con:
        rows = con.execute(
            "select payment_id, method from read_csv(?, header = true, all_varchar = true, delim = ',', "
            "quote = '\"', escape = '\"', union_by_name = true)",
            [[str(f) for f in files]],
        ).fetchall()
    return {payment_id: method for payment_id, method in rows}


def answer_refund_requests(settings: Settings, night: date) -> ProcessorResult:
    """Append the answers to night ``night``'s refund requests to a payments landing file not yet ingested."""
    result = ProcessorResult(night)
    requests = _requests(settings, night)
    if not requests:
        return result
    known = _known_payments(settings)
    day = _answer_date(settings, night)
    paid_at = datetime.combine(day, ANSWER_TIME, ZoneInfo(settings.timezone)).isoformat(timespec="seconds")
    for r in requests:
        payment_id = refund_answer_payment_id(r["refund_id"])
        if payment_id in known:
            result.already_answered += 1
            continue
        result.answers.append({
            "payment_id": payment_id,
            "customer_id": r["customer_id"],
            "paid_at": paid_at,
            "amount": r["amount"],
            "currency": r["currency"],
            "method": known.get(r["original_payment_id"]) or "card",
            "status": "refunded",
            "original_payment_id": r["original_payment_id"],
            "processor_reference": r["refund_id"],
        })
    if not result.answers:
        return result
    path = settings.landing_file("payments", day)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh))
        text = path.read_text(encoding="utf-8")
        prefix = "" if not text or text.endswith("\n") else "\n"
    else:
        header, prefix = feed("payments").column_names, None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if prefix is None:
        writer.writerow(header)
        prefix = ""
    for answer in result.answers:
        writer.writerow([answer.get(column, "") for column in header])
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write(prefix + buffer.getvalue())
    result.answered_on, result.path = day, path
    return result
