"""The month-end close pack (lifecycle/close_pack.py) on the two-night published home: the figures on the page are
the marts' to the cent, queried here independently, and the page stands alone."""

from __future__ import annotations

import os
import re
import shutil
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lifecycle.checks.gates import DOMAINS, read_gates
from lifecycle.close_pack import ClosePack, write_close_pack
from lifecycle.io.warehouse import connect_published, last_published_date
from lifecycle.settings import Settings

CHROMIUM = Path("/usr/lib/chromium/chromium")
PERIOD = "2026-11"  # the period of the published night 2026-11-11
HEADINGS = ["Trial balance", "Deferred revenue", "Earned revenue by product", "Accounts receivable aging",
            "Tax payable by country", "Refunds payable", "Tie-outs"]


def money(amount: Decimal) -> str:
    """How finance reads an amount on the page: 2 decimals, thousands separators."""
    assert isinstance(amount, Decimal)
    return f"{abs(amount) if amount.is_zero() else amount:,.2f}"


class Tables(HTMLParser):
    """The page's tables by id: each a list of rows of cell texts (the header row first)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(attrs.get("src") or "")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def rows_of(tables: Tables, table: str) -> list[list[str]]:
    return tables.tables[table][1:]


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    con = connect_published(settings)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def pack(published_home, tmp_path_factory) -> tuple[Settings, ClosePack, str, Tables]:
    settings, _ = published_home
    written = write_close_pack(settings, PERIOD, tmp_path_factory.mktemp("close"))
    page = written.html.read_text(encoding="utf-8")
    return settings, written, page, Tables(page)


def test_every_trial_balance_row_is_the_mart_to_the_cent(pack) -> None:
    settings, written, page, tables = pack
    tb = query(settings, """
        select account_code, account_name, currency, period_debit, period_credit, closing_balance,
            period_functional_debit, period_functional_credit, closing_functional_balance
        from marts.rpt_trial_balance where period = ? order by account_code, currency""", [PERIOD])
    assert len(tb) > 10
    shown = rows_of(tables, "trial-balance-table")
    accounts = [r for r in shown if not r[1].startswith("total")]
    # code, account, currency, opening, debits, credits, closing, then the same four in functional currency
    assert [(r[0], r[1], r[2], r[4], r[5], r[6], r[8], r[9], r[10]) for r in accounts] == [
        (code, name, cur, money(d), money(c), money(bal), money(fd), money(fc), money(fbal))
        for code, name, cur, d, c, bal, fd, fc, fbal in tb]
    debits, credits = sum(r[6] for r in tb), sum(r[7] for r in tb)
    assert debits == credits > 0
    assert written.trial_balance_debits == debits and written.trial_balance_credits == credits
    total = next(r for r in shown if r[1] == f"total ({settings.functional_currency}, functional)")
    assert total[8:10] == [money(debits), money(credits)] and total[10] == "0.00"
    assert f"Debits {money(debits)} {settings.functional_currency} = credits {money(credits)}" in page
    for currency in sorted({r[2] for r in tb}):
        mine = [r for r in tb if r[2] == currency]
        row = next(r for r in shown if r[1] == f"total {currency}")
        assert row[4] == row[5] == money(sum(r[3] for r in mine)), currency  # debits = credits per currency
        assert row[6] == "0.00"


def test_deferred_revenue_rolls_forward_to_the_account(pack) -> None:
    settings, written, _, tables = pack
    rollforward = dict(query(settings, """
        select currency, sum(closing_balance) from marts.rpt_deferred_revenue_rollforward
        where period = ? group by 1 order by 1""", [PERIOD]))
    accounts = query(settings, """
        select currency, -closing_balance, -closing_functional_balance from marts.rpt_trial_balance
        where period = ? and account_key = 'deferred_revenue' order by 1""", [PERIOD])
    account = {c: v for c, v, _ in accounts}
    assert rollforward and rollforward == account
    assert written.deferred_closing == rollforward and written.deferred_account_closing == account
    assert written.deferred_account_functional == sum(f for _, _, f in accounts)
    # currency, roll-forward closing, the deferred-revenue account, the account in functional currency
    assert rows_of(tables, "deferred-account-table") == [
        [c, money(rollforward[c]), money(v), money(f)] for c, v, f in accounts]
    waterfall = dict(query(settings, "select currency, sum(deferred_amount) from marts.rpt_deferred_revenue_waterfall "
                                     "group by 1 order by 1"))
    assert rows_of(tables, "waterfall-table")[-1] == ["total", *(money(v) for v in waterfall.values())]
    assert waterfall == account  # P is the night's period: the night's waterfall is P's closing balance


def test_ar_aging_ties_to_the_ar_account(pack) -> None:
    settings, written, _, tables = pack
    aging = dict(query(settings, "select currency, sum(balance_due) from marts.rpt_ar_aging group by 1 order by 1"))
    ar = dict(query(settings, """
        select currency, closing_balance from marts.rpt_trial_balance
        where period = ? and account_key = 'accounts_receivable' order by 1""", [PERIOD]))
    assert aging and set(aging) <= set(ar)
    currencies = sorted({*aging, *ar})
    difference = {c: aging.get(c, Decimal("0.00")) - ar.get(c, Decimal("0.00")) for c in currencies}
    assert rows_of(tables, "ar-tie-table") == [
        [c, money(aging.get(c, Decimal("0.00"))), money(ar[c]), money(difference[c]), "yes"] for c in currencies]
    assert written.ar_aging_total == {c: aging.get(c, Decimal("0.00")) for c in currencies}
    assert written.ar_account_closing == ar
    assert written.ar_difference == difference and set(difference.values()) == {Decimal("0.00")}
    aging_rows = query(settings, "select currency, aging_bucket, invoices, balance_due from marts.rpt_ar_aging "
                                 "order by 1, 2")
    assert rows_of(tables, "aging-table") == [[c, b, str(n), money(v)] for c, b, n, v in aging_rows]


def test_earned_revenue_tax_and_refunds_payable_are_the_marts(pack) -> None:
    settings, written, _, tables = pack
    fc = settings.functional_currency
    earned = query(settings, "select sum(functional_earned_revenue) from marts.rpt_earned_revenue where period = ?",
                   [PERIOD])[0][0]
    assert written.earned_revenue == earned > 0
    assert rows_of(tables, "earned-table")[-1][:4] == [f"total ({fc}, functional)", "all", "", money(earned)]
    tax = query(settings, "select sum(functional_closing_tax_payable), count(*) from marts.rpt_tax_payable "
                          "where period = ?", [PERIOD])[0]
    assert written.tax_payable_total == tax[0] > 0
    shown_tax = rows_of(tables, "tax-table")
    assert shown_tax[-1][0] == f"total ({fc}, functional)" and shown_tax[-1][-1] == money(tax[0])
    assert len([r for r in shown_tax if r[0] != "total" and not r[0].startswith("total (")]) == tax[1]
    refunds = query(settings, """
        select currency, -closing_balance, -closing_functional_balance from marts.rpt_trial_balance
        where period = ? and account_key = 'refunds_payable' order by 1""", [PERIOD])
    assert written.refunds_payable == sum(r[2] for r in refunds)  # this home decided no refund yet: 0.00
    assert written.refunds_payable_by_currency == {c: v for c, v, _ in refunds}
    assert rows_of(tables, "refunds-account-table")[-1] == [f"total ({fc}, functional)", "",
                                                            money(written.refunds_payable)]
    still_open = query(settings, "select refund_answer_id, currency, open_amount from marts.fct_refund_answers "
                                 "where answer_status <> 'answered' order by currency, decided_on, 1")
    shown = [r for r in rows_of(tables, "open-refunds-table") if r[0] != "total"]
    assert [(r[0], r[5], r[9]) for r in shown] == [(i, c, money(v)) for i, c, v in still_open]
    for currency, amount in written.open_refunds.items():  # what the account holds is what is still open
        assert amount == written.refunds_payable_by_currency.get(currency, Decimal("0.00"))
    figures = [written.trial_balance_debits, written.trial_balance_credits, written.earned_revenue,
               written.tax_payable_total, written.refunds_payable, *written.deferred_closing.values(),
               *written.ar_aging_total.values(), *written.ar_account_closing.values()]
    assert all(isinstance(v, Decimal) for v in figures)


def test_header_and_the_tie_outs_of_the_night(pack) -> None:
    settings, written, page, tables = pack
    night = last_published_date(settings)
    assert written.night == night and written.functional_currency == settings.functional_currency
    assert f"<dt>Published night</dt><dd>{night.isoformat()}</dd>" in page
    assert f"<dt>Functional currency</dt><dd>{settings.functional_currency}</dd>" in page
    assert written.closed is settings.is_closed(PERIOD, night) is False
    assert "<dt>Closed</dt><dd>no, open on that night" in page
    gates = read_gates(settings, night)
    assert rows_of(tables, "gates-table") == [
        [d, DOMAINS[d], str(gates.checks.get(d, 0)), "0", "yes"] for d in DOMAINS]
    assert sum(gates.checks.values()) > 0
    ties = rows_of(tables, "tie-outs-table")
    assert len(ties) == len(written.tie_outs) >= 8 and written.tie_outs_held
    assert all(r[4] == "0.00" and r[5] == "yes" for r in ties)
    debits = next(r for r in ties if r[0].startswith("Trial balance: the period's debits") and "functional" in r[0])
    assert debits[2] == debits[3] == money(written.trial_balance_debits)
    ar = {r[1]: r[2] for r in ties if r[0].startswith("AR aging")}
    assert ar == {c: money(v) for c, v in written.ar_aging_total.items()}


def test_the_page_stands_alone_and_a_rerun_writes_the_same_bytes(pack, tmp_path) -> None:
    settings, written, page, tables = pack
    assert "http://" not in page and "https://" not in page and "<script" not in page and "<link" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert tables.images == sources and len(written.pngs) == 1
    png = written.pngs[0]
    assert png.parent == written.html.parent and png.read_bytes().startswith(b"\x89PNG")
    again = write_close_pack(settings, PERIOD, tmp_path)
    assert again.html.read_bytes() == written.html.read_bytes()
    assert [p.read_bytes() for p in again.pngs] == [p.read_bytes() for p in written.pngs]
    assert [p.name for p in again.pngs] == [p.name for p in written.pngs]


def test_the_default_folder_is_the_home_reports_close_period(published_home) -> None:
    settings, _ = published_home
    folder = settings.home / "reports" / "close" / PERIOD
    existed = (settings.home / "reports").exists()
    try:
        written = write_close_pack(settings, PERIOD)
        assert written.html == folder / f"close-{PERIOD}.html" and written.html.exists()
        assert all(p.parent == folder and p.exists() for p in written.pngs)
    finally:  # the session's home is left as it was found
        shutil.rmtree(settings.home / "reports" if not existed else folder, ignore_errors=True)


def test_an_earlier_period_shows_the_ar_difference_instead_of_hiding_it(published_home, tmp_path) -> None:
    settings, _ = published_home
    periods = [r[0] for r in query(settings, "select distinct period from marts.fct_journal_lines order by 1")]
    assert periods[-1] == PERIOD
    if len(periods) < 2:
        pytest.skip("only one period has journal lines")
    earlier = periods[-2]
    written = write_close_pack(settings, earlier, tmp_path)
    tables = Tables(written.html.read_text(encoding="utf-8"))
    ar = dict(query(settings, "select currency, closing_balance from marts.rpt_trial_balance "
                              "where period = ? and account_key = 'accounts_receivable'", [earlier]))
    aging = dict(query(settings, "select currency, sum(balance_due) from marts.rpt_ar_aging group by 1"))
    shown = {r[0]: r[1:] for r in rows_of(tables, "ar-tie-table")}
    for currency in sorted({*ar, *aging}):
        a, b = aging.get(currency, Decimal("0.00")), ar.get(currency, Decimal("0.00"))
        assert shown[currency] == [money(a), money(b), money(a - b), "yes" if a == b else "NO"]
        assert written.ar_difference[currency] == a - b
    # beside it, the tie as of the night, which holds
    assert all(r[3] == "0.00" and r[4] == "yes" for r in rows_of(tables, "ar-tie-night-table"))
    assert written.closed is settings.is_closed(earlier, written.night)


@pytest.mark.parametrize("period", ["2026-13", "2026/11", "202611", "26-11", " 2026-11", ""])
def test_a_period_not_written_yyyy_mm_is_refused(published_home, tmp_path, period) -> None:
    settings, _ = published_home
    with pytest.raises(ValueError, match=r"is not a month written YYYY-MM: type e\.g\. --period 2026-11"):
        write_close_pack(settings, period, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_period_without_journal_lines_lists_the_periods_that_exist(published_home, tmp_path) -> None:
    settings, _ = published_home
    periods = [r[0] for r in query(settings, "select distinct period from marts.fct_journal_lines order by 1")]
    with pytest.raises(ValueError) as info:
        write_close_pack(settings, "2027-01", tmp_path / "out")
    message = str(info.value)
    assert "\n" not in message and "2027-01 has no journal lines" in message
    assert f"periods with journal lines: {', '.join(periods)}" in message and f"--period {periods[-1]}" in message
    assert not (tmp_path / "out").exists()


def test_nothing_published_is_a_file_not_found(home: Settings) -> None:
    with pytest.raises(FileNotFoundError, match="no published night"):
        write_close_pack(home, PERIOD)


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                    reason=f"Debian's Chromium is not installed ({CHROMIUM}; `apt-get install chromium`). "
                           "On CI .ci/run installs it and this test runs.")
def test_a_browser_renders_the_pack_from_the_file_alone(pack, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    _, written, _, _ = pack
    shot = tmp_path / "close-pack.png"
    with sync_playwright() as playwright:
        # Playwright cannot download its own browsers here: drive Debian's Chromium (PITFALLS).
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = browser.new_context(offline=True)  # nothing may come from the network
            page = context.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(written.html.as_uri())
            page.wait_for_load_state("load")
            widths = page.eval_on_selector_all("img", "images => images.map(i => i.complete ? i.naturalWidth : 0)")
            assert widths and all(w > 0 for w in widths)
            headings = page.eval_on_selector_all("h1, h2", "hs => hs.map(h => h.textContent.trim())")
            assert headings == [f"Month-end close pack {PERIOD}", *HEADINGS]
            assert page.title() == f"Month-end close pack {PERIOD}"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert all(u.startswith(("file://", "data:")) for u in requests)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000
