"""A closed period's GL file and the warehouse agree, whatever happened just before the close: a withheld night's
late payment posts after the close; a GL file that differs, or a changed landing file of a frozen night, stops the
night until it is put back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lifecycle.checks.gates import read_gates
from lifecycle.io.warehouse import connect_published, last_published_date, ledger_nights
from lifecycle.pipelines.night import run_night
from lifecycle.settings import get_settings, load_settings
from tests.landing_files import CUSTOMER, OFFER, init_hand_written_home, order, write_feed, write_reference

#: February closes on 4 March. Night 2 is withheld (a CAD order has no rate yet), so it writes no GL file.
N1, N2, N3, N4 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5)
N5 = date(2026, 3, 6)
FEB, MAR = "2026-02", "2026-03"


def _journal(settings, where: str) -> list[tuple]:
    con = connect_published(settings)
    try:
        return con.execute(
            "select period, entry_date, original_date, posting_note, account_key, debit, credit "
            f"from marts.fct_journal_lines where {where} order by journal_line_id").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def late_home(tmp_path_factory, dbt_manifest):
    path = tmp_path_factory.mktemp("closed") / "home"
    init_hand_written_home(path)
    toml = path / "lifecycle.toml"
    toml.write_text(toml.read_text().replace("periods = {}", f'periods = {{ "{FEB}" = "{N3}" }}'))
    load_settings.cache_clear()
    settings = get_settings(path)
    write_reference(settings, N1)
    write_feed(settings, "offers", N1, [OFFER, {**OFFER, "offer_id": "OF-PRINT-CAD", "price": "49.00", "currency": "CAD",
                                                "countries": "CA", "renewal_offer_id": "OF-PRINT-CAD"}])
    write_feed(settings, "offer_components", N1, [
        {"offer_id": o, "component_seq": 1, "product_id": "MAG-PRINT", "quantity": 1}
        for o in ("OF-PRINT-USD", "OF-PRINT-CAD")])
    write_feed(settings, "customers", N1, [CUSTOMER, {
        **CUSTOMER, "customer_id": "C-9", "first_name": "Cy", "last_name": "North", "address_line1": "9 King St",
        "city": "Toronto", "region": "ON", "postal_code": "M5H 2N2", "country": "CA", "email": "cy@example.org"}])
    # night 1: a February order recorded late, while February is open: it posts in February
    write_feed(settings, "orders", N1, [order(ordered_at="2026-02-20T10:00:00-05:00", service_start="2026-02-20")])
    nights = {"n1": run_night(settings, N1, ephemeral=True)}
    nights["feb_file"] = (settings.exports / "gl" / FEB / "journal_detail.csv").read_bytes()
    # night 2: its payment, dated in February; and a CAD order whose rate has not arrived: finance fails
    write_feed(settings, "payments", N2, [{
        "payment_id": "P-1", "customer_id": "C-1", "order_id": "O-1", "paid_at": "2026-02-27T10:00:00-05:00",
        "amount": "41.44", "currency": "USD", "method": "card", "status": "settled"}])
    write_feed(settings, "orders", N2, [order(
        order_id="O-9", customer_id="C-9", subscription_id="S-9", offer_id="OF-PRINT-CAD", unit_price="49.00",
        tax_rate="0.13", tax_amount="6.37", currency="CAD", ordered_at="2026-03-03T10:00:00-05:00",
        service_start="2026-03-03")])
    nights["n2"] = run_night(settings, N2, ephemeral=True)
    # night 3 closes February; the CAD rate arrives
    write_feed(settings, "fx_rates", N3, [{"currency": "CAD", "rate_date": N2.isoformat(), "rate": "0.7400"}])
    nights["n3"] = run_night(settings, N3, ephemeral=True)
    nights["feb_lines"] = _journal(settings, f"period = '{FEB}'")
    nights["p1_lines"] = _journal(settings, "source_id = 'P-1'")

    # night 4, first with a changed landing file of night 2 (frozen since night 3 was published) ...
    payments = settings.landing_file("payments", N2)
    original = payments.read_bytes()
    payments.write_bytes(original + b"\n")
    nights["n4_changed_file"] = run_night(settings, N4, ephemeral=True)
    payments.write_bytes(original)
    # ... then with a line missing from February's GL file ...
    detail = settings.exports / "gl" / FEB / "journal_detail.csv"
    filed = detail.read_bytes()
    detail.write_bytes(b"".join(filed.splitlines(keepends=True)[:-1]))
    nights["n4_gl_differs"] = run_night(settings, N4, ephemeral=True)
    nights["n4_gl_gates"] = read_gates(settings, N4)
    detail.write_bytes(filed)
    # ... and both put back
    nights["n4"] = run_night(settings, N4, ephemeral=True)
    nights["published_after_n4"] = last_published_date(settings)
    nights["feb_every_column"] = _every_column(settings, FEB)
    nights["feb_gl"] = _gl_files(settings, FEB)

    # a new code for deferred revenue after February closed: the published night is rerun, then the next night runs
    toml.write_text(toml.read_text().replace("account_codes = {}", 'account_codes = { deferred_revenue = "2499" }'))
    load_settings.cache_clear()
    settings = get_settings(path)
    nights["n4_recoded"] = run_night(settings, N4, ephemeral=True)
    nights["feb_after_rerun"] = _every_column(settings, FEB)
    nights["gl_after_rerun"] = _gl_files(settings, FEB)
    # night 5 learns of a cancellation requested in February, closed since night 3: a late cancellation
    write_feed(settings, "cancellations", N5, [{
        "cancellation_id": "X-1", "subscription_id": "S-1", "requested_at": "2026-02-26T09:00:00-05:00",
        "effective_date": "2026-02-26", "reason": "price"}])
    nights["n5"] = run_night(settings, N5, ephemeral=True)
    nights["x1_lines"] = _journal(settings, "source not in ('invoice', 'payment')")
    con = connect_published(settings)
    nights["deferred_usd"] = con.execute(
        "select period, account_code, period_debit, period_credit, closing_balance from marts.rpt_trial_balance "
        "where account_key = 'deferred_revenue' and currency = 'USD' order by period").fetchall()
    con.close()
    nights["feb_after_n5"] = _every_column(settings, FEB)
    nights["gl_after_n5"] = _gl_files(settings, FEB)
    nights["mar_codes"] = {(line[0], line[1]) for line in _journal_codes(settings, MAR)}
    nights["mar_gl"] = (settings.exports / "gl" / MAR / "journal_detail.csv").read_text(encoding="utf-8")
    return settings, nights


def _every_column(settings, period: str) -> list[tuple]:
    con = connect_published(settings)
    try:
        return con.execute(f"select * from marts.fct_journal_lines where period = '{period}' "
                           "order by journal_line_id").fetchall()
    finally:
        con.close()


def _journal_codes(settings, period: str) -> list[tuple]:
    con = connect_published(settings)
    try:
        return con.execute("select account_key, account_code from marts.fct_journal_lines "
                           f"where period = '{period}' order by journal_line_id").fetchall()
    finally:
        con.close()


def _gl_files(settings, period: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((settings.exports / "gl" / period).glob("*.csv"))}


def test_a_withheld_nights_late_payment_posts_after_the_close_and_february_equals_its_gl_file(late_home):
    settings, nights = late_home
    assert nights["n1"].published, nights["n1"].failures
    assert (nights["n2"].published, nights["n2"].gates.failed_domains()) == (False, ["finance"])
    assert nights["n3"].published, (nights["n3"].failures, nights["n3"].reason)
    assert ledger_nights(settings) == [N1, N3, N4, N5]  # night 2 wrote no GL file
    # February in the warehouse is February's GL file, written by night 1 and final since the close
    assert (settings.exports / "gl" / FEB / "journal_detail.csv").read_bytes() == nights["feb_file"]
    filed = nights["feb_file"].decode().splitlines()[1:]
    assert len(nights["feb_lines"]) == len(filed) == 3  # the invoice: AR, deferred revenue, tax
    assert sum(line[5] for line in nights["feb_lines"]) == sum(Decimal(r.split(",")[2]) for r in filed) == Decimal(
        "41.44")
    # the payment known on the withheld night is in no February file: it posts in March, dated 1 March
    assert nights["p1_lines"] and {line[:4] for line in nights["p1_lines"]} == {
        ("2026-03", date(2026, 3, 1), date(2026, 2, 27), f"recorded after period {FEB} closed")}
    assert sum(line[5] for line in nights["p1_lines"]) == sum(line[6] for line in nights["p1_lines"]) > 0


def test_a_changed_landing_file_of_a_frozen_night_stops_its_feed(late_home):
    settings, nights = late_home
    refused = nights["n4_changed_file"]
    assert (refused.success, refused.published) == (False, False)
    steps = dict(refused.failures)
    assert "raw__payments" in steps
    assert steps["raw__payments"].startswith(
        f"landing/payments/{N2}.csv: the file differs from the one ingested (")
    assert f"Files dated on or before night {N3} are frozen: put the ingested file back" in steps["raw__payments"]


def test_a_closed_period_that_differs_from_its_gl_file_withholds_the_night(late_home):
    settings, nights = late_home
    assert not nights["n4_gl_differs"].published
    failures = [(f.check, f.message) for f in nights["n4_gl_gates"].failures]
    assert len(failures) == 1 and failures[0][0] == "closed_periods_match_gl_files"
    assert failures[0][1].startswith(
        f"closed period {FEB}: the warehouse holds 3 journal lines (debits 41.44), "
        f"exports/gl/{FEB}/journal_detail.csv 2 (debits 41.44); they part at detail line 4 (")
    # put back, the night publishes
    assert nights["n4"].published, nights["n4"].failures
    assert nights["published_after_n4"] == N4


def test_an_account_code_changed_after_a_close_applies_from_the_first_open_period(late_home):
    settings, nights = late_home
    feb = nights["feb_every_column"]
    assert ("deferred_revenue", "2400") in {(r[0], r[1]) for r in _journal_codes(settings, FEB)}
    assert len(feb) == 3 and nights["feb_gl"]["journal_detail.csv"] and nights["feb_gl"]["journal.csv"]
    # the rerun of the published night and the next night both publish, with February as it was, every column
    assert nights["n4_recoded"].published, nights["n4_recoded"].failures
    assert nights["n5"].published, nights["n5"].failures
    assert last_published_date(settings) == N5
    assert nights["feb_after_rerun"] == feb and nights["feb_after_n5"] == feb
    assert nights["gl_after_rerun"] == nights["feb_gl"] and nights["gl_after_n5"] == nights["feb_gl"]
    assert b"2499" not in nights["feb_gl"]["journal_detail.csv"]
    # March, open, takes the new code for every deferred-revenue line, in the warehouse and in its GL file
    assert ("deferred_revenue", "2499") in nights["mar_codes"]
    assert ("deferred_revenue", "2400") not in nights["mar_codes"]
    assert ",2499," in nights["mar_gl"] and ",2400," not in nights["mar_gl"]


def test_a_late_cancellation_dated_in_a_closed_period_posts_in_the_first_open_one(late_home):
    """S-1's cancellation, requested on 26 February, is learnt on 6 March, after February closed (and after deferred
    revenue's code changed): the refund it decides posts in March under the new code, February stays as filed,
    and the trial balance has one row per period, the old code for February and the new one after."""
    settings, nights = late_home
    assert nights["n5"].published, (nights["n5"].failures, nights["n5"].gates and nights["n5"].gates.failures)
    lines = nights["x1_lines"]
    assert {(line[0], line[1]) for line in lines} == {(MAR, N5)}  # decided on the night it was learnt
    assert sum(line[5] for line in lines) == sum(line[6] for line in lines) == Decimal("41.44")  # paid in full
    assert {(line[4], line[5]) for line in lines if line[5]} == {("deferred_revenue", Decimal("39.00")),
                                                                   ("tax_payable", Decimal("2.44"))}
    assert nights["feb_after_n5"] == nights["feb_every_column"] and nights["gl_after_n5"] == nights["feb_gl"]
    assert nights["deferred_usd"] == [
        (FEB, "2400", Decimal("0.00"), Decimal("39.00"), Decimal("-39.00")),
        (MAR, "2499", Decimal("39.00"), Decimal("0.00"), Decimal("0.00")),
    ]
