"""The Great Expectations suite generated from the contract audits accepted rows independently."""

from __future__ import annotations

from decimal import Decimal

from lifecycle.assets.ingest import _accepted_frame
from lifecycle.checks.gx_suites import validate_accepted_rows
from lifecycle.contract import feed
from lifecycle.io.ingest import ingest_file
from tests.landing_files import DAY, order, write_feed, write_reference


def test_suite_passes_on_ingested_rows_and_catches_what_slips_through(home):
    write_reference(home)
    write_feed(home, "orders", DAY, [order(), order(order_id="O-2", subscription_id="S-2")])
    for name in ("products", "credit_policies", "offers", "offer_components", "customers"):
        ingest_file(home, name, DAY)
    result = ingest_file(home, "orders", DAY)
    frame = _accepted_frame(result.raw_path)
    assert frame["unit_price"].tolist() == [Decimal("39.00"), Decimal("39.00")]  # Decimals, never floats
    good = validate_accepted_rows(feed("orders"), DAY, frame)
    assert (good.success, good.rows, good.failed) == (True, 2, [])

    frame.loc[1, "order_id"] = "O-1"
    frame.loc[0, "currency"] = "JPY"
    frame.loc[1, "discount"] = Decimal("-0.01")
    bad = validate_accepted_rows(feed("orders"), DAY, frame)
    assert not bad.success
    assert sorted(f.split(":")[0] for f in bad.failed) == [
        "expect_column_values_to_be_between(discount)",
        "expect_column_values_to_be_in_set(currency)",
        "expect_column_values_to_be_unique(order_id)",
    ]
