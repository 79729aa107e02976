"""The migration load's control totals: ``landing/migration_control/<cut-over date>.csv`` (docs/computations.md,
"Migration and cut-over": the load may carry control totals that ingestion must match).

The file counts, per controlled slice (``contract.CONTROLLED_SLICES``: orders, payments, refunds) and currency,
the records the legacy system exported and the sum of their amounts. On the cut-over night, the ingestion of
``orders`` and ``payments`` compares the rows it accepted from the migration file with these totals before it
writes anything: a mismatch raises :class:`ControlTotalsMismatch` (a :class:`BrokenFeedFile`), naming the slice,
currency, expected and found, so the feed ingests nothing and the night is not published. Only accepted rows
count: a quarantined migration row is a record missing from the load (its count is given in the message).
The file is optional; without it nothing is compared.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from lifecycle.contract import CONTROLLED_SLICES, MIGRATION_CONTROL, SUPPORTED_CURRENCIES
from lifecycle.settings import Settings

_INTEGER = re.compile(r"[0-9]+")
_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?")


class BrokenControlFile(Exception):
    """The control file itself cannot be read as the contract says."""


@dataclass(frozen=True)
class ControlLine:
    slice: str
    currency: str
    rows: int
    amount: Decimal


def control_path(settings: Settings, cutover: date) -> Path:
    return settings.landing / MIGRATION_CONTROL.name / f"{cutover.isoformat()}.csv"


def slices_of(feed_name: str) -> list[str]:
    """The control slices a landing feed's migration file is compared with."""
    return [name for name, (feed_name_, _, _) in CONTROLLED_SLICES.items() if feed_name_ == feed_name]


def read_control(path: Path) -> dict[tuple[str, str], ControlLine]:
    """The control totals by (slice, currency); raises BrokenControlFile naming the line and the problem."""
    try:
        text = path.read_bytes().decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise BrokenControlFile(f"{path}: not valid UTF-8 ({exc.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    expected = MIGRATION_CONTROL.column_names
    if sorted(header) != sorted(expected):
        raise BrokenControlFile(f"{path}: line 1 (header): the columns must be {', '.join(expected)}, "
                                f"found {', '.join(header) or 'nothing'}")
    allowed = MIGRATION_CONTROL.column("feed").allowed or ()
    out: dict[tuple[str, str], ControlLine] = {}
    for line_number, fields in enumerate(reader, start=2):
        if not fields:
            continue
        if len(fields) != len(header):
            raise BrokenControlFile(f"{path}: line {line_number}: {len(fields)} fields, the header has {len(header)}")
        row = dict(zip(header, fields, strict=True))
        problem = None
        if row["feed"] not in allowed:
            problem = f"feed {row['feed']!r} is not one of {', '.join(allowed)}"
        elif row["currency"] not in SUPPORTED_CURRENCIES:
            problem = f"currency {row['currency']!r} is not supported"
        elif not _INTEGER.fullmatch(row["rows"]):
            problem = f"rows {row['rows']!r} is not a whole number ≥ 0"
        elif not _MONEY.fullmatch(row["amount"]):
            problem = f"amount {row['amount']!r} is not an amount ≥ 0 with at most two decimals"
        elif (row["feed"], row["currency"]) in out:
            problem = f"{row['feed']} {row['currency']} is given twice"
        if problem:
            raise BrokenControlFile(f"{path}: line {line_number}: {problem}")
        try:
            amount = Decimal(row["amount"])
        except InvalidOperation:  # pragma: no cover - the pattern above only lets decimals through
            raise BrokenControlFile(f"{path}: line {line_number}: amount {row['amount']!r}") from None
        out[(row["feed"], row["currency"])] = ControlLine(row["feed"], row["currency"], int(row["rows"]), amount)
    return out


def found_totals(con: duckdb.DuckDBPyConnection, feed_name: str, table: str = "accepted") -> dict[
        tuple[str, str], tuple[int, Decimal]]:
    """Rows and amount per (slice, currency) of ``table`` (the accepted rows of a landing feed)."""
    found: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for name in slices_of(feed_name):
        _, amount, where = CONTROLLED_SLICES[name]
        for currency, rows, total in con.execute(
            f"select currency, count(*), cast(coalesce(sum({amount}), 0) as decimal(38, 2)) "
            f"from {table} where {where} group by currency order by currency"
        ).fetchall():
            found[(name, currency)] = (rows, total)
    return found


def compare(control: dict[tuple[str, str], ControlLine], found: dict[tuple[str, str], tuple[int, Decimal]],
            feed_name: str) -> list[dict]:
    """One entry per (slice, currency) of this feed, expected and found, with ``matches``."""
    keys = {k for k in control if k[0] in slices_of(feed_name)} | set(found)
    out = []
    for name, currency in sorted(keys):
        line = control.get((name, currency))
        rows, amount = found.get((name, currency), (0, Decimal("0.00")))
        expected_rows = line.rows if line else 0
        expected_amount = line.amount if line else Decimal("0.00")
        out.append({
            "feed": name, "currency": currency,
            "expected_rows": expected_rows, "expected_amount": str(expected_amount.quantize(Decimal("0.01"))),
            "found_rows": rows, "found_amount": str(amount.quantize(Decimal("0.01"))),
            "matches": rows == expected_rows and amount == expected_amount,
        })
    return out


def mismatch_message(path: Path, control_file: Path, results: list[dict], quarantined: int, feed_name: str) -> str:
    wrong = [r for r in results if not r["matches"]]
    parts = [
        f"{r['feed']} {r['currency']}: expected {r['expected_rows']} rows, {r['expected_amount']}; "
        f"found {r['found_rows']} rows, {r['found_amount']}"
        for r in wrong
    ]
    hint = (f" ({quarantined} line(s) of this file were quarantined: a quarantined record is missing from the load; "
            "correct it and deliver the migration file again)" if quarantined else "")
    return (f"{path}: the migration load does not match its control totals ({control_file}): {'; '.join(parts)}"
            f"{hint}; feed {feed_name} ingests nothing from this file")
