"""The night's billing and GL export files, written from the night's audited warehouse and recorded in the register.

* ``exports/autocharge/<D>/requests.csv``: the autocharge attempts the payment processor must make.
* ``exports/outbox/<D>/messages.jsonl``: the customer messages for the messaging platform.
* ``exports/outbox/<D>/deliveries.csv``: what the optional webhook delivery did with them.
* ``exports/gl/<period>/journal.csv`` and ``journal_detail.csv``: the period's journal for the GL.

Each file holds what is due by D, sendable, and not in the export register of an earlier night
(``lifecycle.io.register``): a skipped night is caught up by the next one, nothing is sent twice,
and rerunning D writes the same bytes. A ``control.json`` beside each file carries its control
totals. Only an audited night exports: the files are read from the published warehouse, or, on a
withheld night, from its build when the export's gates passed (``lifecycle.io.warehouse.audited_source``).
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
from lifecycle.io.warehouse import audited_source, connect_published, record_ledger_night
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


@dataclass
class ExportResult:
    path: Path
    rows: int
    control: dict = field(default_factory=dict)


def _unsent(settings: Settings, night: date, export: str, key: str, sql: str) -> list[tuple]:
    """The rows of ``sql`` (its first column is the key, ``?`` is the night) not in an earlier night's register,
    read from night D's audited warehouse (``Withheld`` when the export's gates did not pass)."""
    con = connect_published(audited_source(settings, night, export))
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


REFUND_COLUMNS = (
    "refund_id", "decided_on", "customer_id", "invoice_id", "original_payment_id", "refund_window",
    "refund_net_amount", "refund_tax_amount", "amount", "currency",
)


def export_autocharge_requests(settings: Settings, night: date) -> ExportResult:
    """``exports/autocharge/<D>/requests.csv``: attempts due by D, sent from the cut-over on, not sent before."""
    return _requests_file(
        settings, night, "autocharge_requests", "autocharge", REQUEST_COLUMNS,
        f"select {', '.join(REQUEST_COLUMNS)} from marts.fct_autocharge_requests "
        "where is_sent and request_date <= ? order by request_date, request_key",
    )


def export_refund_requests(settings: Settings, night: date) -> ExportResult:
    """``exports/refunds/<D>/requests.csv``: refund decisions for the processor, decided by D, not sent before.

    The processor answers each with a payment row of status ``refunded`` naming ``original_payment_id``,
    which clears refunds payable.
    """
    columns = ", ".join(c if c != "amount" else "refund_amount as amount" for c in REFUND_COLUMNS)
    return _requests_file(
        settings, night, "refund_requests", "refunds", REFUND_COLUMNS,
        f"select {columns} from marts.fct_refunds where is_requested and decided_on <= ? "
        "order by decided_on, refund_id",
    )


NOTICE_MAIL_COLUMNS = (
    "notice_id", "due_date", "customer_id", "first_name", "last_name", "address_line1", "address_line2", "city",
    "region", "postal_code", "country", "subscription_id", "notice_number", "term_end", "offer_id", "amount",
    "currency", "upsell_offer_id",
)


def export_notice_mail(settings: Settings, night: date) -> ExportResult:
    """``exports/notices/<D>/mail.csv``: the renewal notices that go by post, for the lettershop.

    One letter per notice due by D whose outbox message goes by mail, not sent before, sorted by postal code
    (what a lettershop presorts by), with the offer it proposes and its price with tax, and the upsell insert
    (``upsell_offer_id``) for customers who opted in to mail.
    """
    return _requests_file(
        settings, night, "notice_mail", "notices", NOTICE_MAIL_COLUMNS,
        "select n.notice_id, n.due_date, n.customer_id, m.first_name, m.last_name, m.address_line1, "
        "m.address_line2, m.city, m.region, m.postal_code, m.country, n.subscription_id, n.notice_number, "
        "n.term_end, n.proposed_offer_id, n.offered_total_amount, n.currency, u.offer_id "
        "from marts.fct_renewal_notices as n "
        "inner join marts.fct_outbox_messages as m on m.message_id = n.notice_id "
        "left join marts.fct_upsell_candidates as u on u.touchpoint_id = n.notice_id and u.is_marketable "
        "where m.is_sent and m.channel = 'mail' and n.due_date <= ? "
        "order by m.country, m.postal_code, n.notice_id",
        file_name="mail.csv", count_name="letters",
    )


def cell_text(value: object) -> str:
    """A value as CSV text: empty for None, ISO for dates, else its string."""
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _safe_cell(value: object) -> str:
    return spreadsheet_safe(value) if isinstance(value, str) else cell_text(value)


def _requests_file(
    settings: Settings,
    night: date,
    export: str,
    folder_name: str,
    columns: tuple[str, ...],
    sql: str,
    file_name: str = "requests.csv",
    count_name: str = "requests",
) -> ExportResult:
    """A CSV of money lines (first column the key, second its date; ``customer_id``, ``amount`` and
    ``currency`` among them), its control totals, and its register rows. Text cells are spreadsheet-safe."""
    key = columns[0]
    rows = _unsent(settings, night, export, key, sql)
    at = {name: i for i, name in enumerate(columns)}
    folder = settings.exports / folder_name / night.isoformat()
    lines: list[list[str]] = [list(columns)]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        lines.append([_safe_cell(v) for v in r])
        totals[r[at["currency"]]] += r[at["amount"]]
    staged = register.stage(
        settings, export, night,
        pa.table({
            key: pa.array([r[0] for r in rows], pa.string()),
            "request_date": pa.array([r[1] for r in rows], pa.date32()),
            "customer_id": pa.array([r[at["customer_id"]] for r in rows], pa.string()),
            "amount": pa.array([r[at["amount"]] for r in rows], pa.decimal128(18, 2)),
            "currency": pa.array([r[at["currency"]] for r in rows], pa.string()),
        }),
        key=key,
    )
    path = folder / file_name
    _write_atomic(path, _csv_text(lines))
    control = {
        "business_date": night.isoformat(),
        "file": file_name,
        count_name: len(rows),
        "amount_by_currency": {c: str(a) for c, a in sorted(totals.items())},
    }
    _write_control(folder, control)
    register.commit(staged)
    return ExportResult(path, len(rows), control)


#: What a spreadsheet reads as the start of a formula (OWASP "CSV injection"), tab and CR included.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` made inert for spreadsheets: a leading ``=``, ``+``, ``-``, ``@``, tab or CR gets a single quote
    before it (``=HYPERLINK(…)`` → ``'=HYPERLINK(…)``), so a name or address is shown as text, never run."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _csv_text(lines: list[list[str]], *, for_spreadsheets: bool = False) -> str:
    """CSV text; files people open in a spreadsheet get every field quoted and formula cells neutralised."""
    buffer = io.StringIO()
    if for_spreadsheets:
        lines = [[spreadsheet_safe(cell) for cell in line] for line in lines]
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL if for_spreadsheets else csv.QUOTE_MINIMAL)
    # Python's minimal quoting leaves a lone CR bare (it quotes only the line terminator's characters), which
    # splits the line for the reader: a line with a CR in any cell is written with every cell quoted.
    quote_all = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for line in lines:
        (quote_all if any("\r" in str(cell) for cell in line) else writer).writerow(line)
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
    staged = register.stage(
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
    register.commit(staged)
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


GL_COLUMNS = (
    "date", "account", "debit", "credit", "currency", "memo", "reference",
    "transaction_currency", "transaction_debit", "transaction_credit",
)


ZERO = Decimal(0)


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def _closed(settings: Settings, period: str, night: date) -> bool:
    """Closed by the close calendar, or before the cut-over month (closed from the start)."""
    return settings.is_closed(period, night)


GL_DETAIL_SQL = (
    "select period, entry_date, account_code, account_name, functional_debit, functional_credit, "
    "functional_currency, source, source_id, entry_id, line_number, currency, debit, credit "
    "from marts.fct_journal_lines where period >= ? order by period, entry_date, entry_id, line_number"
)


def gl_journal_lines(con, settings: Settings) -> dict[str, list[tuple]]:
    """The journal lines of every period the GL export covers (from the opening-balance period on), by period."""
    by_period: dict[str, list[tuple]] = defaultdict(list)
    for row in con.execute(GL_DETAIL_SQL, [settings.opening_period or ""]).fetchall():
        by_period[row[0]].append(row)
    return by_period


def gl_period_files(period: str, rows: list[tuple]) -> tuple[str, str, dict]:
    """``journal.csv`` and ``journal_detail.csv`` of one period, and its control totals (without the night)."""
    period_end = max(r[1] for r in rows)
    summary: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 4)
    names = {}
    for r in rows:
        key = (r[2], r[11], r[6])
        names[r[2]] = r[3]
        t = summary[key]
        t[0] += r[4]
        t[1] += r[5]
        t[2] += r[12]
        t[3] += r[13]
    lines = [list(GL_COLUMNS)]
    debit_total = credit_total = ZERO
    for (account, txn_currency, functional), (fd, fc, td, tc) in sorted(summary.items()):
        net, txn_net = fd - fc, td - tc
        if net == 0 and txn_net == 0:
            continue  # the account moved and came back within the period: nothing to post
        lines.append([
            period_end.isoformat(), account, _money(max(net, ZERO)), _money(max(-net, ZERO)), functional,
            f"subscription-lifecycle {period} {names[account]} ({txn_currency})",
            f"SL-{period}-{account}-{txn_currency}", txn_currency,
            _money(max(txn_net, ZERO)), _money(max(-txn_net, ZERO)),
        ])
        debit_total += max(net, ZERO)
        credit_total += max(-net, ZERO)
    detail_lines = [list(GL_COLUMNS)] + [
        [r[1].isoformat(), r[2], _money(r[4]), _money(r[5]), r[6], f"{r[7]} {r[8]}", f"{r[9]}:{r[10]}", r[11],
         _money(r[12]), _money(r[13])]
        for r in rows
    ]
    control = {"period": period, "summary_lines": len(lines) - 1, "detail_lines": len(rows),
               "total_debit": _money(debit_total), "total_credit": _money(credit_total)}
    return _csv_text(lines), _csv_text(detail_lines), control


def export_gl(settings: Settings, night: date) -> ExportResult:
    """``exports/gl/<period>/journal.csv`` (one line per account and transaction currency) and
    ``journal_detail.csv`` (one line per journal line), in functional currency with the transaction amounts
    beside them. Open periods are rewritten every night (recognition is restated month to date); a closed
    period's files, once written, are final. Periods start at the opening-balance period (the month before the
    cut-over month), whose journal is the opening-balance entry. The night is recorded as a GL night
    (``state/ledger_nights.json``): what it wrote is what finance imported.
    """
    source = audited_source(settings, night, "gl_journal")
    con = connect_published(source)
    try:
        by_period = gl_journal_lines(con, settings)
    finally:
        con.close()
    written, totals = [], {}
    for period, rows in sorted(by_period.items()):
        folder = settings.exports / "gl" / period
        if _closed(settings, period, night) and (folder / "journal.csv").exists():
            continue  # a closed period's journal never changes
        journal, detail, control = gl_period_files(period, rows)
        _write_atomic(folder / "journal.csv", journal)
        _write_atomic(folder / "journal_detail.csv", detail)
        control = {"period": period, "business_date": night.isoformat(), "closed": _closed(settings, period, night),
                   **{k: v for k, v in control.items() if k != "period"}}
        _write_control(folder, control)
        written.append(period)
        totals[period] = control
    record_ledger_night(settings, night)
    return ExportResult(settings.exports / "gl", len(written), {"periods": written, "by_period": totals})


def audit_gl_files(settings: Settings, night: date) -> list[str]:
    """Every closed period's journal lines in tonight's build equal its GL files (``journal_detail.csv`` line for
    line, ``journal.csv``, the control totals): one message per period that differs."""
    closed = [p for p in settings.closed_periods(night) if (settings.exports / "gl" / p / "journal_detail.csv").exists()]
    if not closed:
        return []
    con = connect_published(settings.build_warehouse)
    try:
        by_period = gl_journal_lines(con, settings)
    finally:
        con.close()
    problems = []
    for period in closed:
        folder = settings.exports / "gl" / period
        on_file = (folder / "journal_detail.csv").read_text(encoding="utf-8")
        rows = by_period.get(period, [])
        journal, detail, control = gl_period_files(period, rows) if rows else ("", _csv_text([list(GL_COLUMNS)]), {})
        if detail == on_file and journal == (folder / "journal.csv").read_text(encoding="utf-8"):
            continue
        filed = list(csv.reader(on_file.splitlines()))[1:]
        built = list(csv.reader(detail.splitlines()))[1:]
        filed_debits = sum((Decimal(r[2]) for r in filed), ZERO)
        built_debits = sum((Decimal(r[2]) for r in built), ZERO)
        first = next((i for i, (a, b) in enumerate(zip(filed, built, strict=False)) if a != b),
                     min(len(filed), len(built)))
        example = built[first] if first < len(built) else filed[first] if first < len(filed) else []
        problems.append(
            f"closed period {period}: the warehouse holds {len(built)} journal lines (debits {built_debits:,.2f}), "
            f"exports/gl/{period}/journal_detail.csv {len(filed)} (debits {filed_debits:,.2f}); they part at detail "
            f"line {first + 2}" + (f" ({', '.join(example[:4])}, {example[6]})" if example else "")
            + ". A closed period's GL file is final: what differs must post in an open period")
    return problems
