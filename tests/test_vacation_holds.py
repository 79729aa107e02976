"""A vacation hold known after a print + digital term began, end to end: three real nights of a hand-written home.

The bundle's 73.00 net is shared equally (no standalone selling prices): 36.50 of print, recognised per issue, and
36.50 of digital access, recognised per day over the term. Twelve monthly issues from 5 January 2026 (shipping on
the 10th) end the term on 10 January 2027: 370 days. On 3 March a hold of April and May is recorded: those issues
are added at the end, which moves to 10 March 2027. The digital part keeps what its days earned through 2 March
and spreads the rest over the 372 days left; January and February do not change.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lifecycle.io.warehouse import connect_published
from lifecycle.pipelines.night import run_night
from lifecycle.settings import get_settings, load_settings
from tests.landing_files import CREDIT_POLICY, CUSTOMER, OFFER, init_hand_written_home, order, write_feed

ORDERED = date(2026, 1, 5)
BEFORE = date(2026, 3, 2)  # the night before the hold is known
HELD = date(2026, 3, 3)  # the night the hold is recorded
PRINT = {"product_id": "MAG-PRINT", "product_name": "The Magazine", "kind": "print_publication",
         "revenue_method": "per_issue", "fulfillment_channel": "ship", "issues_per_year": 12}
DIGITAL = {"product_id": "MAG-DIGITAL", "product_name": "The Magazine online", "kind": "digital_publication",
           "revenue_method": "ratable_daily", "fulfillment_channel": "digital_access"}
BUNDLE = {**OFFER, "offer_id": "OF-BUNDLE", "offer_name": "Print + digital, 12 issues", "price": "73.00",
          "renewal_offer_id": ""}


def digital_schedule(settings) -> list[tuple]:
    con = connect_published(settings)
    try:
        return con.execute(
            "select service_month, scheduled_amount, recognised_amount from marts.fct_revenue_schedule "
            "where product_id = 'MAG-DIGITAL' and line_kind = 'ratable' order by service_month").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def held_home(tmp_path_factory, dbt_manifest):
    path = tmp_path_factory.mktemp("holds") / "home"
    init_hand_written_home(path)
    load_settings.cache_clear()
    settings = get_settings(path)
    write_feed(settings, "products", ORDERED, [PRINT, DIGITAL])
    write_feed(settings, "credit_policies", ORDERED, [CREDIT_POLICY])
    write_feed(settings, "offers", ORDERED, [BUNDLE])
    write_feed(settings, "offer_components", ORDERED, [
        {"offer_id": "OF-BUNDLE", "component_seq": 1, "product_id": "MAG-PRINT", "quantity": 1},
        {"offer_id": "OF-BUNDLE", "component_seq": 2, "product_id": "MAG-DIGITAL", "quantity": 1}])
    write_feed(settings, "customers", ORDERED, [CUSTOMER])
    write_feed(settings, "shippers", ORDERED, [
        {"shipper_id": "MAIL-EAST", "shipper_name": "Atlantic Mailing", "role": "mailing_house",
         "spoilage_percent": "0.5"}])
    write_feed(settings, "shipper_routing", ORDERED, [{"routing_id": "RT-1", "shipper_id": "MAIL-EAST"}])
    write_feed(settings, "issue_schedules", ORDERED, [
        {"issue_id": f"MAG-{year}-{month:02d}", "product_id": "MAG-PRINT", "cover_date": f"{year}-{month:02d}-01",
         "list_close_date": f"{year}-{month:02d}-05", "ship_date": f"{year}-{month:02d}-10"}
        for year, month in [(2026 + (m - 1) // 12, (m - 1) % 12 + 1) for m in range(1, 19)]])
    write_feed(settings, "orders", ORDERED, [order(
        ordered_at="2026-01-05T10:00:00-05:00", offer_id="OF-BUNDLE", unit_price="73.00", tax_amount="4.56",
        service_start=ORDERED.isoformat())])
    write_feed(settings, "payments", ORDERED, [{
        "payment_id": "P-1", "customer_id": "C-1", "order_id": "O-1", "paid_at": "2026-01-05T11:00:00-05:00",
        "amount": "77.56", "currency": "USD", "method": "card", "status": "settled"}])
    nights = {}
    for night in (ORDERED, BEFORE):
        outcome = run_night(settings, night, ephemeral=True)
        assert outcome.published, outcome.reason
        nights[night] = digital_schedule(settings)
    write_feed(settings, "suspensions", HELD, [
        {"suspension_id": "H-1", "subscription_id": "S-1", "hold_from": "2026-04-01", "hold_to": "2026-06-01"}])
    outcome = run_night(settings, HELD, ephemeral=True)
    assert outcome.published, outcome.reason
    nights[HELD] = digital_schedule(settings)
    return settings, nights


def test_the_months_served_before_the_hold_was_known_keep_their_revenue(held_home):
    _, nights = held_home
    # before: 36.50 over 370 days; January has 27 days (2.66), February 28 (cumulative 5.43: 2.77)
    assert nights[BEFORE][:2] == [(date(2026, 1, 1), Decimal("2.66"), Decimal("2.66")),
                                  (date(2026, 2, 1), Decimal("2.77"), Decimal("2.77"))]
    assert nights[BEFORE][-1][0] == date(2027, 1, 1)
    # after: January and February unchanged (spread again over 429 days, January would be 2.30)
    assert nights[HELD][:2] == nights[BEFORE][:2]
    # 5 January – 2 March earned 5.62; 30.88 left over the 372 days to 10 March 2027: March's 29 days reach 8.03
    # (2.60 in March), of which 1–3 March are earned on 3 March (5.70: 0.27)
    assert nights[HELD][2] == (date(2026, 3, 1), Decimal("2.60"), Decimal("0.27"))
    assert nights[HELD][-1][0] == date(2027, 3, 1)
    assert sum(amount for _, amount, _ in nights[HELD]) == Decimal("36.50")


def test_the_term_ends_later_and_the_segments_say_why(held_home):
    settings, _ = held_home
    con = connect_published(settings)
    try:
        end, issues = con.execute(
            "select end_date, issue_ids from marts.dim_subscriptions where subscription_id = 'S-1'").fetchone()
        segments = con.execute(
            "select segment_number, segment_from, segment_to, segment_end, earned_before_cents "
            "from intermediate.int_ratable_segments order by segment_number").fetchall()
    finally:
        con.close()
    assert end == date(2027, 3, 10)
    assert "MAG-2026-04" not in issues and "MAG-2026-05" not in issues and issues[-1] == "MAG-2027-02"
    assert segments == [(0, ORDERED, HELD, date(2027, 1, 10), 0), (1, HELD, None, date(2027, 3, 10), 562)]
