"""Every choice among equals has a total order: a night run twice on a home full of planted ties publishes the same
rows in every table.

The ties: one customer holds two subscriptions to the same digital edition ending the same day (which one the
access grant names); two orders with the same timestamp (invoice numbers); two unreferenced payments with the same
timestamp and amount against two open invoices due the same day (cash application); two cancellations of one term
requested at the same instant (which one ends it, and its reason); two customers with the same name and postal code
on one manifest (the shipper's sort).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb

from lifecycle.pipelines.night import run_night
from lifecycle.settings import get_settings, load_settings
from tests.homes import warehouse_tables
from tests.landing_files import (
    CREDIT_POLICY,
    CUSTOMER,
    OFFER,
    PRODUCT,
    init_hand_written_home,
    order,
    write_feed,
)

NIGHT = date(2026, 3, 10)
AT = "2026-03-10T10:00:00-05:00"


def test_a_night_with_planted_ties_publishes_the_same_rows_twice(tmp_path, monkeypatch, dbt_manifest):
    path = tmp_path / "home"
    init_hand_written_home(path)
    monkeypatch.setenv("LIFECYCLE_HOME", str(path))
    load_settings.cache_clear()
    settings = get_settings(path)
    write_feed(settings, "products", NIGHT, [PRODUCT, {
        "product_id": "DIG", "product_name": "The Magazine, digital", "kind": "digital_publication",
        "revenue_method": "ratable_daily", "fulfillment_channel": "digital_access"}])
    write_feed(settings, "credit_policies", NIGHT, [CREDIT_POLICY])
    write_feed(settings, "offers", NIGHT, [OFFER, {
        **OFFER, "offer_id": "OF-DIG12", "offer_name": "Digital, 12 months", "term_unit": "months", "price": "60.00",
        "renewal_offer_id": "OF-DIG12"}])
    write_feed(settings, "offer_components", NIGHT, [
        {"offer_id": "OF-PRINT-USD", "component_seq": 1, "product_id": "MAG-PRINT", "quantity": 1},
        {"offer_id": "OF-DIG12", "component_seq": 1, "product_id": "DIG", "quantity": 1}])
    write_feed(settings, "customers", NIGHT, [
        CUSTOMER,
        {**CUSTOMER, "customer_id": "C-2"},  # the same name and address as C-1: a tie on the shipper's sort
    ])
    write_feed(settings, "issue_schedules", NIGHT, [
        {"issue_id": f"MAG-2026-{m:02d}", "product_id": "MAG-PRINT", "cover_date": f"2026-{m:02d}-01",
         "list_close_date": f"2026-{m - 1:02d}-10", "ship_date": f"2026-{m - 1:02d}-15"} for m in range(4, 13)])
    write_feed(settings, "shippers", NIGHT, [
        {"shipper_id": "MAIL", "shipper_name": "Mailing house", "role": "mailing_house", "spoilage_percent": "1.0"}])
    write_feed(settings, "shipper_routing", NIGHT, [{"routing_id": "RT-1", "shipper_id": "MAIL"}])
    digital = {"offer_id": "OF-DIG12", "unit_price": "60.00", "tax_amount": "3.75", "ordered_at": AT,
               "service_start": NIGHT.isoformat(), "payment_terms": "net_30"}
    write_feed(settings, "orders", NIGHT, [
        order(order_id="O-1", customer_id="C-1", subscription_id="S-1", **digital),
        order(order_id="O-2", customer_id="C-1", subscription_id="S-2", **digital),  # same end, same timestamp
        order(order_id="O-3", customer_id="C-1", subscription_id="S-3", ordered_at=AT, service_start="2026-03-10"),
        order(order_id="O-4", customer_id="C-2", subscription_id="S-4", ordered_at=AT, service_start="2026-03-10"),
        order(order_id="O-5", customer_id="C-1", subscription_id="S-5", ordered_at=AT, service_start="2026-03-10"),
    ])
    # two payments naming nothing, at the same instant, each paying one of two invoices due the same day
    write_feed(settings, "payments", NIGHT, [
        {"payment_id": p, "customer_id": "C-1", "paid_at": "2026-03-10T12:00:00-05:00", "amount": "63.75",
         "currency": "USD", "method": "card", "status": "settled"} for p in ("P-B", "P-A")])
    write_feed(settings, "cancellations", NIGHT, [
        {"cancellation_id": c, "subscription_id": "S-3", "requested_at": "2026-03-10T15:00:00-05:00",
         "effective_date": "2026-03-10", "reason": reason} for c, reason in (("X-2", "price"), ("X-1", "content"))])

    first = run_night(settings, NIGHT, ephemeral=True)
    assert first.published, (first.failures, first.gates and first.gates.failures)
    once = warehouse_tables(settings.warehouse)
    manifests = {p.relative_to(settings.exports): p.read_bytes() for p in sorted(settings.exports.rglob("*.csv"))}
    second = run_night(settings, NIGHT, ephemeral=True)
    assert second.published, (second.failures, second.gates and second.gates.failures)
    twice = warehouse_tables(settings.warehouse)
    assert sorted(once) == sorted(twice)
    assert [name for name in once if once[name] != twice[name]] == []
    assert {p.relative_to(settings.exports): p.read_bytes() for p in sorted(settings.exports.rglob("*.csv"))} == manifests
    # and the ties were met: the grant names the greater of two subscriptions ending together; of two cancellations
    # at one instant the smaller id ends the term, with its own reason; of two payments at one instant the smaller
    # id pays first, the invoices due first (the two prepaid print ones, due tonight) then by number; invoices are
    # numbered by order id among orders of one instant; the two identical addresses are sorted by subscription
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        assert q("select subscription_id, granting_terms from marts.fct_access_entitlements") == [("S-2", 2)]
        assert q("select cancellation_id, cancellation_reason from intermediate.int_term_cancellations "
                 "where subscription_id = 'S-3'") == [("X-1", "content")]
        assert q("select payment_id, invoice_id, applied_amount from marts.fct_payment_applications "
                 "order by application_id") == [
            ("P-A", "INV-2026-000003", Decimal("41.44")), ("P-A", "INV-2026-000005", Decimal("22.31")),
            ("P-B", "INV-2026-000005", Decimal("19.13")), ("P-B", "INV-2026-000001", Decimal("44.62"))]
        assert q("select order_id, invoice_id from marts.fct_invoices order by order_id")[:3] == [
            ("O-1", "INV-2026-000001"), ("O-2", "INV-2026-000002"), ("O-3", "INV-2026-000003")]
    finally:
        con.close()
    (mail,) = [p for p in settings.exports.glob("manifests/*/MAIL/*.csv")]
    lines = mail.read_text(encoding="utf-8").splitlines()[1:]
    assert [line.split(",")[0].strip('"') for line in lines] == ["S-4:1:MAG-2026-04", "S-5:1:MAG-2026-04"]
