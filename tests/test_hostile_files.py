"""Landing files as a careless or hostile sender writes them: no row lost, none changed, none shifted.

Each test feeds one bad file and checks the quarantine row (rule, physical line, column, original text), that
the good rows come through unchanged, and that rows read = accepted + quarantined.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from lifecycle.contract import feed
from lifecycle.io.exports import _csv_text
from tests.landing_files import CUSTOMER, DAY, mark_published, order, write_feed, write_reference
from tests.test_ingest import ingest_all, quarantine_rows, raw_rows


def csv_text(feed_name: str, rows: list[dict], terminator: str = "\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=terminator)
    header = feed(feed_name).column_names
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in header])
    return buf.getvalue()


def land(settings, feed_name: str, text: str | bytes, day=DAY):
    path = settings.landing_file(feed_name, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def counts(result):
    assert result.rows_read == result.rows_accepted + result.rows_quarantined
    return result.rows_read, result.rows_accepted, result.rows_quarantined


def customer_line(**overrides) -> str:
    """One customers line written by hand (no csv module: the point is what a careless sender writes)."""
    row = {**CUSTOMER, "address_line1": "1 Main St", **overrides}
    return ",".join(str(row.get(c, "")) for c in feed("customers").column_names)


ORDER_COLUMNS = "order_id, unit_price, tax_rate, _source_line"


def test_a_crlf_file_reads_like_its_lf_twin(home):
    write_reference(home)
    rows = [order(), order(order_id="O-2", subscription_id="S-2", unit_price="12.35", tax_amount="0.77")]
    land(home, "orders", csv_text("orders", rows, "\r\n"))
    assert counts(ingest_all(home, DAY)["orders"]) == (2, 2, 0)
    crlf = raw_rows(home, "orders", ORDER_COLUMNS)
    land(home, "orders", csv_text("orders", rows, "\n"))
    assert counts(ingest_all(home, DAY)["orders"]) == (2, 2, 0)
    assert raw_rows(home, "orders", ORDER_COLUMNS) == crlf == [
        ("O-1", Decimal("39.00"), Decimal("0.06250000"), 2), ("O-2", Decimal("12.35"), Decimal("0.06250000"), 3)]


def test_mixed_line_ends_a_bom_and_no_final_newline(home):
    write_reference(home)
    header, first, second = csv_text("orders", [order(), order(order_id="O-2", subscription_id="S-2")]).splitlines()
    land(home, "orders", "\ufeff" + header + "\r\n" + first + "\n" + second)
    assert counts(ingest_all(home, DAY)["orders"]) == (2, 2, 0)
    assert [r[0] for r in raw_rows(home, "orders", "order_id")] == ["O-1", "O-2"]


def test_an_unquoted_comma_before_an_empty_last_field_is_refused_not_shifted(home):
    write_reference(home)
    # "1 Main St, Apt 2" unquoted, and the last field (undeliverable) empty: 18 fields for 17 columns
    shifted = customer_line(customer_id="C-2", address_line1="1 Main St, Apt 2", undeliverable="")
    header = ",".join(feed("customers").column_names)
    land(home, "customers", header + "\n" + customer_line(address_line1='"1 Main St, Apt 2"') + "\n" + shifted + "\n")
    r = ingest_all(home, DAY)["customers"]
    assert counts(r) == (2, 1, 1)
    assert quarantine_rows(home, "customers") == [(3, "", "too_many_columns", shifted, None)]
    assert raw_rows(home, "customers", "customer_id, address_line1, undeliverable") == [
        ("C-1", "1 Main St, Apt 2", False)]  # quoted, the comma is part of the value


def test_money_and_rates_are_refused_not_rounded_when_they_have_more_places(home):
    write_reference(home)
    rows = [order(unit_price="39.000000000001"),
            order(order_id="O-2", subscription_id="S-2", tax_rate="0.062500000001"),
            order(order_id="O-3", subscription_id="S-3", unit_price="39.000", tax_rate="0.06250000000")]
    land(home, "orders", csv_text("orders", rows))
    assert counts(ingest_all(home, DAY)["orders"]) == (3, 1, 2)
    text = csv_text("orders", rows).splitlines()
    assert quarantine_rows(home, "orders") == [
        (2, "unit_price", "too_many_decimals", text[1], None),
        (3, "tax_rate", "too_many_decimals", text[2], None),
    ]
    # trailing zeros are the same number: stored exactly
    assert raw_rows(home, "orders", ORDER_COLUMNS) == [("O-3", Decimal("39.00"), Decimal("0.06250000"), 4)]


def test_a_23_digit_amount_is_quarantined_not_a_crash(home):
    write_reference(home)
    rows = [order(unit_price="12345678901234567890123"),
            order(order_id="O-2", subscription_id="S-2", unit_price="1000000000000", tax_amount="62500000000.00"),
            order(order_id="O-3", subscription_id="S-3", quantity="12345678901"),
            order(order_id="O-4", subscription_id="S-4")]
    land(home, "orders", csv_text("orders", rows))
    assert counts(ingest_all(home, DAY)["orders"]) == (4, 1, 3)
    found = [(line, column, rule) for line, column, rule, _, _ in quarantine_rows(home, "orders")]
    assert found == [(2, "unit_price", "out_of_range"), (3, "unit_price", "out_of_range"),
                     (4, "quantity", "out_of_range")]
    assert raw_rows(home, "orders", "order_id") == [("O-4",)]


def test_a_service_date_outside_the_warehouse_calendar_is_refused_at_the_door(home):
    write_reference(home)
    rows = [order(service_start="1999-12-01"), order(order_id="O-2", subscription_id="S-2", service_start="2100-01-01"),
            order(order_id="O-3", subscription_id="S-3")]
    land(home, "orders", csv_text("orders", rows))
    assert counts(ingest_all(home, DAY)["orders"]) == (3, 1, 2)
    assert [(q[0], q[1], q[2]) for q in quarantine_rows(home, "orders")] == [
        (2, "service_start", "implausible_date"), (3, "service_start", "implausible_date")]


def payment(**overrides) -> dict:
    row = {"payment_id": "P-1", "customer_id": "C-1", "order_id": "O-1", "paid_at": "2026-03-02T11:00:00-05:00",
           "amount": "41.44", "currency": "USD", "method": "card", "status": "settled"}
    row.update(overrides)
    return row


def test_refunds_past_their_payment_are_refused_with_the_amounts(home):
    write_reference(home)
    write_feed(home, "orders", DAY, [order()])
    rows = [payment(),
            payment(payment_id="R-1", status="refunded", amount="30.00", original_payment_id="P-1"),
            payment(payment_id="R-2", status="refunded", amount="11.45", original_payment_id="P-1"),
            payment(payment_id="R-3", status="chargeback", amount="11.44", original_payment_id="P-1"),
            payment(payment_id="R-4", status="refunded", amount="1.00", currency="EUR", original_payment_id="P-1")]
    land(home, "payments", csv_text("payments", rows))
    r = ingest_all(home, DAY)["payments"]
    assert counts(r) == (5, 3, 2)
    q = quarantine_rows(home, "payments")
    assert [(line, column, rule) for line, column, rule, _, _ in q] == [
        (4, "amount", "exceeds_original_payment"), (6, "original_payment_id", "invalid_row")]
    message = duckdb.sql(f"select message from read_parquet('{r.quarantine_path}') where line = 4").fetchall()[0][0]
    assert message == ("reversals of payment P-1 would reach 41.45 (this row 11.45, accepted before it 30.00), "
                       "more than its 41.44")
    # R-3 fits once R-2 is refused: 30.00 + 11.44 = 41.44, the whole payment
    assert raw_rows(home, "payments", "payment_id") == [("P-1",), ("R-1",), ("R-3",)]
    # a later file counts what was accepted before it
    later = DAY + timedelta(days=1)
    land(home, "payments", csv_text("payments", [
        payment(payment_id="R-5", status="refunded", amount="0.01", original_payment_id="P-1",
                paid_at="2026-03-03T09:00:00-05:00")]), later)
    r = ingest_all(home, later)["payments"]
    assert (r.rows_accepted, r.quarantined_by_rule) == (0, {"exceeds_original_payment": 1})


def test_a_refund_of_a_payment_id_sent_twice_is_limited_by_the_payment_accepted(home):
    """A payment id repeated in the file (the second is a duplicate, quarantined) and refunded: the refund is held
    to the first row's amount, the one accepted; the feed does not break on the second (found at a million
    customers, where the sample's planted duplicates met a refund)."""
    write_reference(home)
    write_feed(home, "orders", DAY, [order()])
    rows = [payment(),
            payment(amount="500.00"),  # P-1 again: a duplicate id
            payment(payment_id="R-1", status="refunded", amount="41.44", original_payment_id="P-1"),
            payment(payment_id="R-2", status="refunded", amount="0.01", original_payment_id="P-1")]
    land(home, "payments", csv_text("payments", rows))
    r = ingest_all(home, DAY)["payments"]
    assert counts(r) == (4, 2, 2)
    assert [(line, column, rule) for line, column, rule, _, _ in quarantine_rows(home, "payments")] == [
        (3, "payment_id", "duplicate_id"), (5, "amount", "exceeds_original_payment")]
    assert raw_rows(home, "payments", "payment_id") == [("P-1",), ("R-1",)]


def test_control_characters_are_refused_at_the_door(home):
    write_reference(home)
    header = ",".join(feed("customers").column_names)
    nul = customer_line(customer_id="C-2", address_line1="1 Main\x00 St")
    cr = customer_line(customer_id="C-3", address_line1="2 Main\r St")
    land(home, "customers", header + "\n" + customer_line() + "\n" + nul + "\n" + cr + "\n")
    assert counts(ingest_all(home, DAY)["customers"]) == (3, 1, 2)
    assert quarantine_rows(home, "customers") == [
        (3, "address_line1", "control_character", nul, None),
        (4, "address_line1", "control_character", cr, None),
    ]


def test_every_export_quotes_a_carriage_return():
    # minimal quoting would leave "x\ry" bare, and a reader would see two lines
    text = _csv_text([["id", "address"], ["1", "x\ry"], ["2", "1,2"]])
    assert text == 'id,address\n"1","x\ry"\n2,"1,2"\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["id", "address"], ["1", "x\ry"], ["2", "1,2"]]


def test_line_numbers_are_physical_after_a_multiline_value_and_a_quote_left_open(home):
    write_reference(home)
    header = ",".join(feed("customers").column_names)
    multiline = customer_line(customer_id="C-1", address_line1='"1 Main\nSt"')  # two physical lines
    bad_country = customer_line(customer_id="C-2", country="usa")
    open_quote = customer_line(customer_id="C-3", city='"Boston')
    after = customer_line(customer_id="C-4")
    bad_after = customer_line(customer_id="C-5", country="x")
    quoted = customer_line(customer_id="C-6", address_line1='"1 Main St, Apt 2"')
    land(home, "customers", "\n".join([header, multiline, bad_country, open_quote, after, bad_after, quoted]) + "\n")
    r = ingest_all(home, DAY)["customers"]
    # every physical line has one outcome: 7 lines after the header, nothing swallowed
    assert counts(r) == (7, 2, 5)
    first, second = multiline.split("\n")
    assert quarantine_rows(home, "customers") == [
        (2, "address_line1", "malformed_line", first, None),
        (3, "customer_id", "malformed_line", second, None),  # read alone, the stray quote is in its first field
        (4, "country", "invalid_country", bad_country, None),
        (5, "city", "malformed_line", open_quote, None),
        (7, "country", "invalid_country", bad_after, None),
    ]
    assert raw_rows(home, "customers", "customer_id, address_line1, _source_line") == [
        ("C-4", "1 Main St", 6), ("C-6", "1 Main St, Apt 2", 8)]


def test_utc_offsets_beyond_14_hours_are_refused(home):
    write_reference(home)
    rows = [order(ordered_at="2026-03-02T10:00:00+25:00"),
            order(order_id="O-2", subscription_id="S-2", ordered_at="2026-03-02T10:00:00+14:30"),
            order(order_id="O-3", subscription_id="S-3", ordered_at="2026-03-02T23:00:00+14:00")]
    land(home, "orders", csv_text("orders", rows))
    assert counts(ingest_all(home, DAY)["orders"]) == (3, 1, 2)
    assert [(q[0], q[1], q[2]) for q in quarantine_rows(home, "orders")] == [
        (2, "ordered_at", "invalid_timestamp"), (3, "ordered_at", "invalid_timestamp")]


def test_a_changed_file_of_a_published_date_is_named_by_the_next_night(home):
    from lifecycle.io.landing import changed_frozen_files, check_append_only, record_ingested

    write_reference(home)
    earlier = DAY - timedelta(days=1)
    for day, rows in ((earlier, [order(ordered_at="2026-03-01T10:00:00-05:00")]), (DAY, [])):
        if rows:
            write_feed(home, "orders", day, rows)
        record_ingested(home, "orders", day, check_append_only(home, "orders", day))
    mark_published(home, date(2026, 3, 2))
    night = DAY + timedelta(days=1)
    assert changed_frozen_files(home, "orders", night) == []
    write_feed(home, "orders", earlier, [order(order_id="O-9", ordered_at="2026-03-01T10:00:00-05:00")])
    write_feed(home, "orders", DAY, [order()])
    changed = changed_frozen_files(home, "orders", night)
    assert [m.split(" (")[0] for m in changed] == [
        "landing/orders/2026-03-01.csv: the file differs from the one ingested",
        "landing/orders/2026-03-02.csv: a file appeared for a date that was ingested without one",
    ]
    home.landing_file("orders", earlier).unlink()
    assert changed_frozen_files(home, "orders", night)[0] == (
        "landing/orders/2026-03-01.csv: the file ingested for this date has been removed")


def test_a_big_file_is_split_under_a_memory_limit_to_the_same_bytes(home, monkeypatch):
    """A file above ``BOUNDED_BYTES`` is split under a memory limit (the split's tables go to the scratch folder
    beyond it); when a step cannot spill, the split runs again unbounded. Either way the raw and quarantine
    partitions are byte for byte those of the unbounded split (refund walk included)."""
    from lifecycle.io import ingest

    write_reference(home)
    write_feed(home, "orders", DAY, [order()])
    rows = [payment(), payment(payment_id="R-1", status="refunded", amount="30.00", original_payment_id="P-1"),
            payment(payment_id="R-2", status="refunded", amount="11.45", original_payment_id="P-1"),
            payment(payment_id="P-2", amount="1e3")]
    land(home, "payments", csv_text("payments", rows))

    def partitions():
        r = ingest_all(home, DAY)["payments"]
        return counts(r), Path(r.raw_path).read_bytes(), Path(r.quarantine_path).read_bytes()

    unbounded = partitions()
    assert unbounded[0] == (4, 2, 2)

    tried = []
    real_split = ingest._split_and_write

    def recorded(settings, contract, *args):
        if contract.name == "payments":
            tried.append(args[-1])
        return real_split(settings, contract, *args)

    monkeypatch.setattr(ingest, "_split_and_write", recorded)
    monkeypatch.setattr(ingest, "BOUNDED_BYTES", 0)  # this small file is split as a big one
    assert partitions() == unbounded
    assert tried == ["256MiB"]

    tried.clear()
    monkeypatch.setattr(ingest, "_memory_limit", lambda size: "1MiB")  # too little for DuckDB itself: it raises
    assert partitions() == unbounded
    assert tried == ["1MiB", None]  # bounded first, out of memory, then the same split without a limit
