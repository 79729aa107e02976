"""Helpers to write small landing files by hand in tests."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from lifecycle.contract import feed
from lifecycle.settings import Settings, init_home

#: What a hand-written home's lifecycle.toml says instead of the default expected daily feeds.
NO_DAILY_FEEDS = "expected_daily = []"


def init_hand_written_home(path: Path) -> None:
    """A home for files written by hand: a test writes only the feeds it is about, so no night waits for the
    default expected daily feeds (the tests of expected feeds set their own)."""
    init_home(path)
    toml = path / "lifecycle.toml"
    text = toml.read_text(encoding="utf-8")
    start = text.index("expected_daily = [")
    end = text.index("\n", start)
    toml.write_text(text[:start] + NO_DAILY_FEEDS + text[end:], encoding="utf-8")


def write_feed(settings: Settings, feed_name: str, day: date, rows: list[dict], header: list[str] | None = None) -> Path:
    header = header or feed(feed_name).column_names
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in header])
    path = settings.landing_file(feed_name, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


DAY = date(2026, 3, 2)

CREDIT_POLICY = {"credit_policy_id": "CP-STD", "full_refund_days": 30, "no_refund_after_days": 999,
                 "cancellation_fee_type": "none"}
OFFER = {"offer_id": "OF-PRINT-USD", "offer_name": "Magazine, 12 issues", "term_length": 12, "term_unit": "issues",
         "price": "39.00", "currency": "USD", "countries": "US", "autorenew_allowed": "true",
         "credit_policy_id": "CP-STD", "renewal_offer_id": "OF-PRINT-USD", "available_from": "2020-01-01"}
CUSTOMER = {"customer_id": "C-1", "first_name": "Ann", "last_name": "Lee", "address_line1": "1 Main St, Apt 2",
            "city": "Boston", "region": "MA", "postal_code": "02134", "country": "US", "email": "ann@example.org",
            "segment": "general", "email_opt_in": "true", "mail_opt_in": "false", "do_not_contact": "false",
            "deceased": "false", "undeliverable": "false"}


def order(**overrides) -> dict:
    row = {"order_id": "O-1", "customer_id": "C-1", "subscription_id": "S-1",
           "ordered_at": "2026-03-02T10:00:00-05:00", "order_type": "new", "offer_id": "OF-PRINT-USD",
           "quantity": 1, "unit_price": "39.00", "discount": "0.00", "tax_rate": "0.0625", "tax_amount": "2.44",
           "currency": "USD", "service_start": "2026-04-01", "autorenew": "false", "payment_terms": "prepaid"}
    row.update(overrides)
    return row


PRODUCT = {"product_id": "MAG-PRINT", "product_name": "The Magazine", "kind": "print_publication",
           "revenue_method": "per_issue", "fulfillment_channel": "ship", "issues_per_year": 12}


def write_reference(settings: Settings, day: date = DAY) -> None:
    write_feed(settings, "products", day, [PRODUCT])
    write_feed(settings, "credit_policies", day, [CREDIT_POLICY])
    write_feed(settings, "offers", day, [OFFER])
    write_feed(settings, "offer_components", day, [
        {"offer_id": "OF-PRINT-USD", "component_seq": 1, "product_id": "MAG-PRINT", "quantity": 1}])
    write_feed(settings, "customers", day, [CUSTOMER])


def mark_published(settings, night) -> None:
    """Make ``night`` the published one, as the home reads it: the published file's ``marts.warehouse_night``
    (created if the test wrote no warehouse; the tables a test wrote into it stay)."""
    import duckdb

    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.warehouse_night as select ?::date as business_date", [night])
    finally:
        con.close()
