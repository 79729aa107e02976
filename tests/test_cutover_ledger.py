"""The ledger at cut-over: periods before the cut-over month are closed from the start (settings, the
closed-period audit before publication), and the GL export begins with the opening-balance period.

The warehouses here are real DuckDB files holding only the journal lines the audit and the export read, with
hand-written rows. The opening-balance entry itself and the month-end FX revaluation are dbt models with dbt
unit tests (beside each model: models/marts/ledger/fct_journal_lines.yml,
models/intermediate/int_fx_revaluation_lines.yml, models/marts/revenue/rpt_deferred_revenue_rollforward.yml) and a
blocking check (tests/ledger/assert_opening_balances_are_the_migrated_history.sql).
"""

from __future__ import annotations

import csv
import dataclasses
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from lifecycle.io.exports import export_gl
from lifecycle.io.warehouse import PublishError, audit_closed_periods
from lifecycle.settings import Settings, parse_settings
from tests.landing_files import mark_published

CUTOVER = date(2026, 11, 10)

COLUMNS = (
    "journal_line_id varchar, entry_id varchar, line_number integer, entry_date date, period varchar, "
    "source varchar, source_id varchar, account_code varchar, account_name varchar, currency varchar, "
    "debit decimal(18, 2), credit decimal(18, 2), functional_currency varchar, functional_debit decimal(18, 2), "
    "functional_credit decimal(18, 2)"
)

OPENING = [
    # the opening-balance entry of a EUR ledger in USD: AR 60.00 EUR (66.00 USD), cash 40.00 (44.00),
    # deferred revenue 100.00 (108.00), FX gain 0.80, unrealised FX gain 1.20
    ("opening_balance:2026-10:EUR", 1, "1200", "Accounts receivable", "60.00", "0.00", "66.00", "0.00"),
    ("opening_balance:2026-10:EUR", 2, "1010", "Cash clearing", "40.00", "0.00", "44.00", "0.00"),
    ("opening_balance:2026-10:EUR", 3, "2400", "Deferred revenue", "0.00", "100.00", "0.00", "108.00"),
    ("opening_balance:2026-10:EUR", 4, "7100", "Foreign exchange gain/loss", "0.00", "0.00", "0.00", "0.80"),
    ("opening_balance:2026-10:EUR", 5, "7110", "Unrealised foreign exchange gain/loss", "0.00", "0.00", "0.00",
     "1.20"),
]

NOVEMBER = [
    # a migrated invoice inside the cut-over month posts normally, and so does October's revaluation reversal
    ("invoice:INV-B", 1, "1200", "Accounts receivable", "20.00", "0.00", "22.00", "0.00"),
    ("invoice:INV-B", 2, "2400", "Deferred revenue", "0.00", "20.00", "0.00", "22.00"),
    ("fx_revaluation_reversal:2026-10:EUR", 1, "1200", "Accounts receivable", "0.00", "0.00", "0.00", "1.20"),
    ("fx_revaluation_reversal:2026-10:EUR", 3, "7110", "Unrealised foreign exchange gain/loss", "0.00", "0.00",
     "1.20", "0.00"),
]


def cutover_settings(home: Settings, **close: date) -> Settings:
    return dataclasses.replace(home, cutover_date=CUTOVER, period_close=dict(close))


def write_journal(path, rows_by_period: dict[str, list[tuple]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(f"create table marts.fct_journal_lines ({COLUMNS})")
    for period, rows in rows_by_period.items():
        for entry_id, line, code, name, debit, credit, fdebit, fcredit in rows:
            entry_date = {"2026-09": "2026-09-30", "2026-10": "2026-10-31"}.get(period, "2026-11-03")
            source = entry_id.split(":")[0].replace("fx_revaluation_reversal", "fx")
            con.execute(
                "insert into marts.fct_journal_lines values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'EUR', ?, ?, 'USD', ?, ?)",
                [f"{entry_id}:{line}", entry_id, line, entry_date, period, source, entry_id.split(":", 1)[1], code,
                 name, debit, credit, fdebit, fcredit],
            )
    con.close()


def test_periods_before_the_cutover_month_are_closed_from_the_cutover(tmp_path):
    s = parse_settings(tmp_path, """
[business]
cutover_date = "2026-11-10"
[close]
periods = { "2026-11" = "2026-12-05" }
""")
    assert s.opening_period == "2026-10"
    assert s.close_calendar() == {"2026-10": date(2026, 11, 10), "2026-11": date(2026, 12, 5)}
    closed = s.closed_periods(CUTOVER)
    # every period from the calendar's start (2020-01) through the one before the cut-over month
    assert (closed[0], closed[-1], len(closed)) == ("2020-01", "2026-10", 82)
    assert s.is_closed("2025-03", CUTOVER) and s.is_closed("2026-10", CUTOVER)
    assert not s.is_closed("2026-11", date(2026, 12, 4))
    assert s.is_closed("2026-11", date(2026, 12, 5))
    assert s.closed_periods(date(2026, 12, 5))[-2:] == ["2026-10", "2026-11"]
    # without a cut-over, only the close calendar closes periods
    assert parse_settings(tmp_path, "").closed_periods(date(2026, 12, 5)) == []


@pytest.mark.parametrize("periods, message", [
    ('{ "2026-09" = "2026-11-20" }', r"period 2026-09 closes on 2026-11-20, after the cut-over date 2026-11-10"),
    ('{ "2026-11" = "2026-11-05" }', r"period 2026-11 closes on 2026-11-05, before the cut-over date 2026-11-10"),
])
def test_a_close_calendar_that_contradicts_the_cutover_is_refused(tmp_path, periods, message):
    with pytest.raises(ValueError, match=message):
        parse_settings(tmp_path, f'[business]\ncutover_date = "2026-11-10"\n[close]\nperiods = {periods}\n')


def test_a_build_that_would_change_the_opening_balances_is_not_published(home):
    settings = cutover_settings(home)  # no close calendar: the cut-over alone closes October and before
    write_journal(settings.warehouse, {"2026-10": OPENING, "2026-11": NOVEMBER})
    # the night after the cut-over: November may change, the opening balances may not
    write_journal(settings.build_warehouse, {"2026-10": OPENING, "2026-11": NOVEMBER[:2]})
    audit_closed_periods(settings, CUTOVER)
    changed = [OPENING[0][:4] + ("61.00", "0.00", "67.10", "0.00"), *OPENING[1:]]
    write_journal(settings.build_warehouse, {"2026-10": changed, "2026-11": NOVEMBER})
    with pytest.raises(PublishError, match=r"2026-10: 2 lines differ \(e.g. opening_balance:2026-10:EUR:1\)"):
        audit_closed_periods(settings, CUTOVER)
    # a line appearing in an earlier period is a change of a closed period too
    stray = [("payment:P-OLD", 2, "1010", "Cash clearing", "5.00", "0.00", "5.40", "0.00")]
    write_journal(settings.build_warehouse, {"2026-09": stray, "2026-10": OPENING, "2026-11": NOVEMBER})
    with pytest.raises(PublishError, match=r"2026-09: 1 lines differ \(e.g. payment:P-OLD:2\)"):
        audit_closed_periods(settings, CUTOVER)


def test_the_gl_export_begins_with_the_opening_balance_period_and_keeps_it(home):
    settings = cutover_settings(home)
    write_journal(settings.warehouse, {"2026-10": OPENING, "2026-11": NOVEMBER})
    mark_published(settings, CUTOVER)
    result = export_gl(settings, CUTOVER)
    assert result.control["periods"] == ["2026-10", "2026-11"]
    opening = result.control["by_period"]["2026-10"]
    assert (opening["closed"], opening["summary_lines"], opening["detail_lines"]) == (True, 5, 5)
    assert (opening["total_debit"], opening["total_credit"]) == ("110.00", "110.00")
    with (settings.exports / "gl" / "2026-10" / "journal.csv").open(newline="") as fh:
        rows = [(r["date"], r["account"], r["debit"], r["credit"], r["transaction_debit"], r["transaction_credit"])
                for r in csv.DictReader(fh)]
    assert rows == [
        ("2026-10-31", "1010", "44.00", "0.00", "40.00", "0.00"),
        ("2026-10-31", "1200", "66.00", "0.00", "60.00", "0.00"),
        ("2026-10-31", "2400", "0.00", "108.00", "0.00", "100.00"),
        ("2026-10-31", "7100", "0.00", "0.80", "0.00", "0.00"),
        ("2026-10-31", "7110", "0.00", "1.20", "0.00", "0.00"),
    ]
    assert sum(Decimal(r[2]) - Decimal(r[3]) for r in rows) == 0
    november = result.control["by_period"]["2026-11"]
    # AR: the invoice's 22.00 less the revaluation's reversal 1.20 = 20.80 (20.00 EUR); unrealised FX 1.20 debit
    assert (november["closed"], november["summary_lines"], november["total_debit"]) == (False, 3, "22.00")

    # the next night: the opening period is closed and its files are final; November is rewritten
    write_journal(settings.warehouse, {"2026-10": OPENING, "2026-11": NOVEMBER[:2]})
    mark_published(settings, date(2026, 11, 11))
    assert export_gl(settings, date(2026, 11, 11)).control["periods"] == ["2026-11"]
