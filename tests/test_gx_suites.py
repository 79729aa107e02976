"""The Great Expectations suite generated from the contract audits accepted rows independently."""

from __future__ import annotations

import pyarrow.parquet as pq

from lifecycle.checks.gx_suites import accepted_frame, validate_accepted_rows
from lifecycle.contract import feed
from lifecycle.io.ingest import ingest_file
from tests.landing_files import DAY, order, write_feed, write_reference


def test_suite_passes_on_ingested_rows_and_catches_what_slips_through(home):
    write_reference(home)
    write_feed(home, "orders", DAY, [order(), order(order_id="O-2", subscription_id="S-2")])
    for name in ("products", "credit_policies", "offers", "offer_components", "customers"):
        ingest_file(home, name, DAY)
    result = ingest_file(home, "orders", DAY)
    table = pq.ParquetFile(result.raw_path).read()
    frame, scales = accepted_frame(table)
    # money as exact integers in minor units: never floats, never one Decimal object per cell
    assert (frame["unit_price"].tolist(), str(frame["unit_price"].dtype), scales["unit_price"]) == (
        [3900, 3900], "Int64", 2)
    good = validate_accepted_rows(feed("orders"), DAY, table)
    assert (good.success, good.rows, good.failed) == (True, 2, [])

    frame.loc[1, "order_id"] = "O-1"
    frame.loc[0, "currency"] = "JPY"
    frame.loc[1, "discount"] = -1  # -0.01
    bad = validate_accepted_rows(feed("orders"), DAY, frame, scales)
    assert not bad.success
    assert sorted(f.split(":")[0] for f in bad.failed) == [
        "expect_column_values_to_be_between(discount)",
        "expect_column_values_to_be_in_set(currency)",
        "expect_column_values_to_be_unique(order_id)",
    ]


def test_a_payment_of_exactly_one_cent_passes_the_suite(home):
    """The contract's minimum (0.01) and the suite agree: the bound is compared in cents, not as a float."""
    write_reference(home)
    write_feed(home, "orders", DAY, [order()])
    write_feed(home, "payments", DAY, [{
        "payment_id": "P-1", "customer_id": "C-1", "order_id": "O-1", "paid_at": "2026-03-02T09:30:00-05:00",
        "amount": "0.01", "currency": "USD", "method": "card", "status": "settled"}])
    for name in ("products", "credit_policies", "offers", "offer_components", "customers", "orders"):
        ingest_file(home, name, DAY)
    result = ingest_file(home, "payments", DAY)
    assert (result.rows_accepted, result.rows_quarantined) == (1, 0)
    suite = validate_accepted_rows(feed("payments"), DAY, pq.ParquetFile(result.raw_path).read())
    assert (suite.success, suite.failed) == (True, [])


def test_the_suites_process_judges_a_file_as_this_process_does(home, tmp_path):
    """A night runs the suites in their own process (GX imports there while the night loads); a file of accepted
    rows gets the same verdict, to the failed expectation, from that process as from this one."""
    import pyarrow as pa

    from lifecycle.checks import gx_suites

    write_reference(home)
    write_feed(home, "orders", DAY, [order(), order(order_id="O-2", subscription_id="S-2")])
    for name in ("products", "credit_policies", "offers", "offer_components", "customers"):
        ingest_file(home, name, DAY)
    table = pq.ParquetFile(ingest_file(home, "orders", DAY).raw_path).read()
    ids = table.column("order_id").to_pylist()
    bad = table.set_column(table.column_names.index("order_id"), "order_id", pa.array([ids[0], ids[0]]))
    path = tmp_path / "accepted.parquet"
    pq.write_table(bad, path)

    here = gx_suites.validate_accepted_file(feed("orders"), DAY, str(path))
    gx_suites.start_suite_worker()
    assert gx_suites._WORKER is not None
    there = gx_suites.validate_accepted_file(feed("orders"), DAY, str(path))
    assert gx_suites._WORKER is not None  # it answered (a dead worker would have been dropped)
    assert (there.success, there.rows, there.failed) == (here.success, here.rows, here.failed) == (
        False, 2, ["expect_column_values_to_be_unique(order_id): 2 unexpected"])

    # after a night's ingestion a worker holding more than the limit is ended, and the next suite still answers the
    # same (here, with no worker, in this process); one within the limit is kept warm
    assert gx_suites.recycle_large_worker(limit=1024 ** 4) is False
    assert gx_suites._WORKER is not None
    assert gx_suites.recycle_large_worker(limit=1) is True
    assert gx_suites._WORKER is None
    again = gx_suites.validate_accepted_file(feed("orders"), DAY, str(path))
    assert (again.success, again.rows, again.failed) == (here.success, here.rows, here.failed)
    assert gx_suites.recycle_large_worker(limit=1) is False  # no worker: nothing to end
