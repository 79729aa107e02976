"""Ingestion of good, bad and broken landing files."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pytest

from lifecycle.contract import ingestion_order
from lifecycle.io.ingest import BrokenFeedFile, ingest_file
from lifecycle.io.landing import LandingRefused, check_append_only, record_ingested
from tests.landing_files import CUSTOMER, DAY, mark_published, order, write_feed, write_reference


def ingest_all(settings, day):
    return {name: ingest_file(settings, name, day) for name in ingestion_order()}


def quarantine_rows(settings, feed_name):
    return duckdb.sql(
        f"select line, column_name, rule, original_text, other_failures from read_parquet("
        f"'{settings.quarantine}/{feed_name}/*/data.parquet', hive_partitioning = false) order by line"
    ).fetchall()


def raw_rows(settings, feed_name, columns="*"):
    return duckdb.sql(
        f"select {columns} from read_parquet('{settings.raw}/{feed_name}/*/data.parquet', hive_partitioning = false) "
        f"order by _source_line"
    ).fetchall()


def test_good_rows_are_typed_exactly(home):
    write_reference(home)
    write_feed(home, "orders", DAY, [
        order(),
        order(order_id="O-2", subscription_id="S-2", quantity=3, unit_price="12.35", discount="1.05",
              tax_rate="0.0725", tax_amount="2.61", ordered_at="2026-03-02T23:59:59-05:00"),
    ])
    results = ingest_all(home, DAY)
    r = results["orders"]
    assert (r.rows_read, r.rows_accepted, r.rows_quarantined) == (2, 2, 0)
    rows = raw_rows(home, "orders", "order_id, quantity, unit_price, discount, tax_amount, tax_rate, _source_line, "
                                    "_source_file, _recorded_date")
    assert rows == [
        ("O-1", 1, Decimal("39.00"), Decimal("0.00"), Decimal("2.44"), Decimal("0.06250000"), 2,
         "landing/orders/2026-03-02.csv", DAY),
        ("O-2", 3, Decimal("12.35"), Decimal("1.05"), Decimal("2.61"), Decimal("0.07250000"), 3,
         "landing/orders/2026-03-02.csv", DAY),
    ]
    # a leading zero in a postal code survives
    assert raw_rows(home, "customers", "postal_code") == [("02134",)]


BAD_ORDERS = [
    # (overrides, expected rule, expected column)
    ({"service_start": "2026-02-30"}, "invalid_date", "service_start"),
    ({"ordered_at": "2026-03-02 10:00:00"}, "invalid_timestamp", "ordered_at"),
    ({"offer_id": "OF-NOWHERE"}, "unknown_reference", "offer_id"),
    ({"quantity": -1, "tax_amount": "-2.44"}, "below_minimum", "quantity"),
    ({"currency": "JPY"}, "unsupported_currency", "currency"),
    ({"currency": "EUR"}, "invalid_row", "currency"),
    ({"unit_price": "39.001"}, "too_many_decimals", "unit_price"),
    ({"unit_price": "NaN"}, "invalid_decimal", "unit_price"),
    ({"unit_price": "3.9e1"}, "invalid_decimal", "unit_price"),
    ({"autorenew": "yes"}, "invalid_boolean", "autorenew"),
    ({"quantity": "1.0"}, "invalid_integer", "quantity"),
    ({"service_start": "2026-4-1"}, "invalid_date", "service_start"),
    ({"ordered_at": "2026-03-03T08:00:00-05:00"}, "after_recorded_date", "ordered_at"),
    ({"order_type": "swap"}, "not_allowed", "order_type"),
    ({"customer_id": ""}, "missing_value", "customer_id"),
    ({"tax_amount": "2.45"}, "invalid_row", "tax_amount"),
    ({"order_type": "renewal", "subscription_id": "S-UNKNOWN"}, "unknown_reference", "subscription_id"),
    ({"order_id": "O-1", "subscription_id": "S-OTHER"}, "duplicate_id", "order_id"),
]


def test_each_bad_row_is_quarantined_with_its_rule(home):
    write_reference(home)
    rows = [order()]
    for i, (overrides, _, _) in enumerate(BAD_ORDERS):
        row = order(order_id=f"O-BAD-{i}", subscription_id=f"S-BAD-{i}")
        row.update(overrides)
        rows.append(row)
    rows.append(order(order_id="O-LAST", subscription_id="S-LAST"))
    path = write_feed(home, "orders", DAY, rows)
    r = ingest_all(home, DAY)["orders"]
    assert (r.rows_read, r.rows_accepted, r.rows_quarantined) == (len(rows), 2, len(BAD_ORDERS))
    assert r.reconciles
    quarantined = quarantine_rows(home, "orders")
    lines = path.read_text(encoding="utf-8").splitlines()
    for (line, column, rule, original, _), (_, expected_rule, expected_column) in zip(quarantined, BAD_ORDERS, strict=True):
        assert (rule, column) == (expected_rule, expected_column), lines[line - 1]
        assert original == lines[line - 1]
    assert [q[0] for q in quarantined] == list(range(3, 3 + len(BAD_ORDERS)))
    assert [row[0] for row in raw_rows(home, "orders", "order_id")] == ["O-1", "O-LAST"]


def test_line_with_wrong_field_count_is_quarantined_with_its_text(home):
    write_reference(home)
    path = write_feed(home, "orders", DAY, [order()])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("O-9,C-1,S-9,too,few\n")
    r = ingest_all(home, DAY)["orders"]
    assert (r.rows_read, r.rows_accepted, r.rows_quarantined) == (2, 1, 1)
    assert quarantine_rows(home, "orders") == [(3, "offer_id", "missing_columns", "O-9,C-1,S-9,too,few", None)]


def test_duplicate_id_in_a_later_file_is_quarantined(home):
    write_reference(home)
    write_feed(home, "orders", DAY, [order()])
    ingest_all(home, DAY)
    later = DAY + timedelta(days=1)
    write_feed(home, "orders", later, [order(subscription_id="S-7", ordered_at="2026-03-03T09:00:00-05:00"),
                                       order(order_id="O-2", subscription_id="S-2",
                                             ordered_at="2026-03-03T09:00:00-05:00")])
    r = ingest_all(home, later)["orders"]
    assert (r.rows_accepted, r.quarantined_by_rule) == (1, {"duplicate_id": 1})


def test_reingesting_a_date_replaces_its_output(home):
    write_reference(home)
    write_feed(home, "orders", DAY, [order()])
    ingest_all(home, DAY)
    ingest_all(home, DAY)
    assert raw_rows(home, "orders", "order_id") == [("O-1",)]


def test_missing_column_breaks_the_file(home):
    write_reference(home)
    header = [c for c in order() if c != "currency"]
    path = write_feed(home, "orders", DAY, [order()], header=header + ["ship_to_name"])
    for name in ("products", "credit_policies", "offers", "offer_components", "customers"):
        ingest_file(home, name, DAY)
    with pytest.raises(BrokenFeedFile) as err:
        ingest_file(home, "orders", DAY)
    message = str(err.value)
    assert str(path) in message and "missing column(s)" in message and "currency" in message
    assert not (home.raw / "orders").exists()


def test_undecodable_bytes_break_the_file(home):
    write_reference(home)
    path = write_feed(home, "orders", DAY, [order()])
    path.write_bytes(path.read_bytes() + b"O-2,C-1,S-2,\xff\xfe broken\n")
    with pytest.raises(BrokenFeedFile) as err:
        ingest_file(home, "orders", DAY)
    assert f"{path}: line 3" in str(err.value) and "UTF-8" in str(err.value)


def test_no_file_gives_an_empty_partition(home):
    r = ingest_file(home, "payments", date(2026, 3, 5))
    assert (r.file, r.rows_read, r.rows_accepted) == (None, 0, 0)
    assert raw_rows(home, "payments") == []


def test_published_dates_are_frozen(home):
    write_reference(home)
    path = write_feed(home, "orders", DAY, [order()])
    checksum = check_append_only(home, "orders", DAY)
    record_ingested(home, "orders", DAY, checksum)
    mark_published(home, date(2026, 3, 2))
    assert check_append_only(home, "orders", DAY) == checksum  # the same file again: fine
    write_feed(home, "orders", DAY, [order(), order(order_id="O-2", subscription_id="S-2")])
    with pytest.raises(LandingRefused) as err:
        check_append_only(home, "orders", DAY)
    assert "landing/orders/2026-03-02.csv: the file differs" in str(err.value)
    path.unlink()
    with pytest.raises(LandingRefused, match="has been removed"):
        check_append_only(home, "orders", DAY)
    write_feed(home, "payments", DAY - timedelta(days=1), [])
    with pytest.raises(LandingRefused, match="a file appeared"):
        check_append_only(home, "payments", DAY - timedelta(days=1))
    # the next, unpublished date is open
    write_feed(home, "orders", DAY + timedelta(days=1), [order()])
    assert check_append_only(home, "orders", DAY + timedelta(days=1)).startswith("sha256:")


def test_generated_publisher_every_planted_row_and_nothing_else_is_quarantined(tmp_path):
    """Ingest a generated home file by file: the quarantine is exactly the generator's ground truth."""
    import csv

    from lifecycle.generator import generate
    from lifecycle.settings import get_settings, load_settings

    end = date(2026, 11, 24)
    cutover = end - timedelta(days=2)
    home_path = tmp_path / "home"
    generate(home_path, customers=400, seed=5, start=date(2024, 1, 1), end=end, cutover=cutover)
    load_settings.cache_clear()
    settings = get_settings(home_path)
    day = cutover
    while day <= end:
        for result in ingest_all(settings, day).values():
            assert result.reconciles
        day += timedelta(days=1)
    with (home_path / "generator" / "bad_rows.csv").open(encoding="utf-8") as fh:
        planted = {(r["file"], int(r["line"]), r["column"], r["rule"]) for r in csv.DictReader(fh)}
    quarantined = set(duckdb.sql(
        f"select file, line, column_name, rule from read_parquet('{settings.quarantine}/*/*/data.parquet', "
        f"hive_partitioning = false)").fetchall())
    assert quarantined == planted
    assert len({rule for *_, rule in planted}) >= 8  # a good spread of rules is exercised


# --- manual journals: an entry is posted whole or not at all ---------------------------------------------

def journal_line(entry_id: str, line: int, account: str, debit: str = "", credit: str = "", **kw) -> dict:
    row = {"entry_id": entry_id, "line_number": line, "entry_date": "2026-02-28", "account_code": account,
           "debit": debit, "credit": credit, "currency": "USD", "memo": "February printing accrual"}
    row.update(kw)
    return row


def test_an_unbalanced_manual_journal_is_quarantined_whole(home):
    write_reference(home)
    write_feed(home, "manual_journals", DAY, [
        journal_line("MJ-1", 1, "6300", debit="1200.00"),
        journal_line("MJ-1", 2, "2100", credit="1200.00"),
        # MJ-2: 500.00 debited, 450.00 credited in USD
        journal_line("MJ-2", 1, "6300", debit="500.00"),
        journal_line("MJ-2", 2, "2100", credit="400.00"),
        journal_line("MJ-2", 3, "2100", credit="50.00"),
    ])
    r = ingest_all(home, DAY)["manual_journals"]
    assert (r.rows_read, r.rows_accepted, r.rows_quarantined) == (5, 2, 3)
    assert r.quarantined_by_rule == {"unbalanced_entry": 3}
    assert raw_rows(home, "manual_journals", "entry_id, line_number, account_code, debit, credit") == [
        ("MJ-1", 1, "6300", Decimal("1200.00"), None), ("MJ-1", 2, "2100", None, Decimal("1200.00"))]
    messages = duckdb.sql(
        f"select line, column_name, rule, message from read_parquet('{home.quarantine}/manual_journals/*/data.parquet', "
        f"hive_partitioning = false) order by line").fetchall()
    balance = "entry MJ-2 does not balance in USD: debits 500.00, credits 450.00; the whole entry is refused"
    assert messages == [(4, "debit", "unbalanced_entry", balance), (5, "debit", "unbalanced_entry", balance),
                        (6, "debit", "unbalanced_entry", balance)]


def test_a_manual_journal_line_refused_takes_its_whole_entry(home):
    write_reference(home)
    write_feed(home, "manual_journals", DAY, [
        journal_line("MJ-3", 1, "6300", debit="80.00"),
        journal_line("MJ-3", 2, "9999", credit="80.00"),          # no such account
        journal_line("MJ-4", 1, "6300", debit="10.00"),
        journal_line("MJ-4", 2, "1200", credit="10.00"),          # AR is kept by the billing sub-ledger
        journal_line("MJ-5", 1, "6300", debit="7.00"),
        journal_line("MJ-5", 2, "2100", credit="7.0x"),           # does not parse
    ])
    r = ingest_all(home, DAY)["manual_journals"]
    assert (r.rows_read, r.rows_accepted, r.rows_quarantined) == (6, 0, 6)
    rows = duckdb.sql(
        f"select line, column_name, rule, message from read_parquet('{home.quarantine}/manual_journals/*/data.parquet', "
        f"hive_partitioning = false) order by line").fetchall()
    assert [(line, col, rule) for line, col, rule, _ in rows] == [
        (2, "entry_id", "entry_refused"), (3, "account_code", "unknown_reference"),
        (4, "entry_id", "entry_refused"), (5, "account_code", "not_allowed"),
        (6, "entry_id", "entry_refused"), (7, "credit", "invalid_decimal"),
    ]
    assert rows[0][3] == "entry MJ-3 is refused whole: line 3 is refused (unknown_reference)"
    assert rows[4][3] == "entry MJ-5 is refused whole: line 7 is refused (invalid_decimal)"


def test_a_manual_journal_entry_id_is_never_posted_twice(home):
    write_reference(home)
    write_feed(home, "manual_journals", DAY, [journal_line("MJ-1", 1, "6300", debit="5.00"),
                                              journal_line("MJ-1", 2, "2100", credit="5.00")])
    ingest_all(home, DAY)
    later = DAY + timedelta(days=1)
    write_feed(home, "manual_journals", later, [journal_line("MJ-1", 3, "6300", debit="5.00"),
                                                journal_line("MJ-1", 4, "2100", credit="5.00")])
    r = ingest_file(home, "manual_journals", later)
    assert (r.rows_read, r.rows_accepted, r.quarantined_by_rule) == (2, 0, {"duplicate_id": 2})


def test_account_code_overrides_name_the_accounts_of_manual_journals(home):
    (home.home / "lifecycle.toml").write_text('[ledger]\naccount_codes = { printing_postage_expense = "63000" }\n')
    from lifecycle.settings import load_settings
    load_settings.cache_clear()
    settings = load_settings(home.home)
    write_reference(settings)
    write_feed(settings, "manual_journals", DAY, [journal_line("MJ-1", 1, "63000", debit="5.00"),
                                                  journal_line("MJ-1", 2, "2100", credit="5.00"),
                                                  journal_line("MJ-2", 1, "6300", debit="5.00"),
                                                  journal_line("MJ-2", 2, "2100", credit="5.00")])
    r = ingest_file(settings, "manual_journals", DAY)
    assert (r.rows_accepted, r.quarantined_by_rule) == (2, {"unknown_reference": 1, "entry_refused": 1})


# --- service actions ---------------------------------------------------------------------------------------

def service_action(**overrides) -> dict:
    row = {"service_action_id": "SA-1", "customer_id": "C-1", "subscription_id": "S-1",
           "action_type": "complimentary_extension", "action_at": "2026-03-02T11:00:00-05:00", "issues": 2,
           "reason": "late_delivery"}
    row.update(overrides)
    return row


BAD_SERVICE_ACTIONS = [
    ({"subscription_id": ""}, "invalid_row", "subscription_id"),
    ({"customer_id": "C-1", "subscription_id": "S-2"}, "invalid_row", "subscription_id"),
    ({"days": 14}, "invalid_row", "issues"),
    ({"issues": ""}, "invalid_row", "issues"),
    ({"action_type": "reship", "issues": ""}, "invalid_row", "issue_id"),
    ({"action_type": "goodwill_credit", "issues": "", "amount": "10.00"}, "invalid_row", "amount"),
    ({"action_type": "goodwill_credit", "issues": "", "amount": "10.00", "currency": "USD", "issue_id": "I-1"},
     "invalid_row", "action_type"),
    ({"action_type": "goodwill_credit", "issues": "", "amount": "0.00", "currency": "USD"}, "below_minimum",
     "amount"),
    ({"action_type": "reship", "issues": "", "issue_id": "MR-NOPE"}, "unknown_reference", "issue_id"),
]


def test_service_actions_are_checked_by_type(home):
    write_reference(home)
    write_feed(home, "customers", DAY, [CUSTOMER, {**CUSTOMER, "customer_id": "C-2"}])
    write_feed(home, "issue_schedules", DAY, [{"issue_id": "I-1", "product_id": "MAG-PRINT",
                                                "cover_date": "2026-04-01", "ship_date": "2026-03-20"}])
    write_feed(home, "orders", DAY, [order(), order(order_id="O-2", customer_id="C-2", subscription_id="S-2")])
    good = [
        service_action(),
        service_action(service_action_id="SA-2", issues="", days=14),
        service_action(service_action_id="SA-3", action_type="reship", issues="", issue_id="I-1",
                       reason="missing_copy"),
        service_action(service_action_id="SA-4", action_type="goodwill_credit", subscription_id="", issues="",
                       amount="15.00", currency="USD", reason="service_failure"),
    ]
    bad = [service_action(service_action_id=f"SA-B{i}", **o) for i, (o, _, _) in enumerate(BAD_SERVICE_ACTIONS)]
    write_feed(home, "service_actions", DAY, good + bad)
    r = ingest_all(home, DAY)["service_actions"]
    assert (r.rows_read, r.rows_accepted, r.rows_quarantined) == (4 + len(bad), 4, len(bad))
    got = [(rule, col) for _, col, rule, _, _ in quarantine_rows(home, "service_actions")]
    assert got == [(rule, col) for _, rule, col in BAD_SERVICE_ACTIONS]
    assert raw_rows(home, "service_actions", "service_action_id, issues, days, issue_id, amount, currency") == [
        ("SA-1", 2, None, None, None, None), ("SA-2", None, 14, None, None, None),
        ("SA-3", None, None, "I-1", None, None), ("SA-4", None, None, None, Decimal("15.00"), "USD")]


def _migration(settings, payments):
    """A migration load on DAY (the cut-over): two orders, a bad extra order line, ``payments``, and control totals.

    Orders USD: 39.00 + 2.44 = 41.44 and 3 × 12.35 − 1.05 + 2.61 = 38.61, so 2 rows and 80.05; payments USD
    (not refunds): 41.44 + 38.61 = 80.05 in 2 rows; refunds USD: one of 10.00.
    """
    import dataclasses

    settings = dataclasses.replace(settings, cutover_date=DAY)
    write_reference(settings)
    write_feed(settings, "orders", DAY, [
        order(),
        order(order_id="O-2", subscription_id="S-2", quantity=3, unit_price="12.35", discount="1.05",
              tax_rate="0.0725", tax_amount="2.61"),
        order(order_id="O-X", subscription_id="S-X", service_start="2026-02-30"),  # a bad line, not a record
    ])
    write_feed(settings, "payments", DAY, payments)
    path = settings.landing / "migration_control" / f"{DAY}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("feed,currency,rows,amount\norders,USD,2,80.05\npayments,USD,2,80.05\nrefunds,USD,1,10.00\n",
                    encoding="utf-8")
    return settings


def _payment(payment_id, order_id, amount, status="settled", original=None):
    return {"payment_id": payment_id, "customer_id": "C-1", "order_id": order_id, "amount": amount,
            "paid_at": "2026-03-02T11:00:00-05:00", "currency": "USD", "method": "card", "status": status,
            "original_payment_id": original}


def _ingest_until_payments(settings):
    """Every feed the payments feed names (customers, orders, …), ingested first as a night would."""
    order_ = ingestion_order()
    return {name: ingest_file(settings, name, DAY) for name in order_[: order_.index("payments")]}


MIGRATED_PAYMENTS = [_payment("P-1", "O-1", "41.44"), _payment("P-2", "O-2", "38.61"),
                     _payment("P-3", None, "10.00", "refunded", "P-1")]


def test_a_migration_load_that_matches_its_control_totals_is_ingested(home):
    settings = _migration(home, MIGRATED_PAYMENTS)
    results = ingest_all(settings, DAY)
    assert (results["orders"].rows_accepted, results["orders"].rows_quarantined) == (2, 1)
    assert [(c["feed"], c["currency"], c["found_rows"], c["found_amount"], c["matches"])
            for c in results["orders"].control_totals] == [("orders", "USD", 2, "80.05", True)]
    assert [(c["feed"], c["found_rows"], c["found_amount"], c["matches"])
            for c in results["payments"].control_totals] == [("payments", 2, "80.05", True), ("refunds", 1, "10.00", True)]
    assert len(raw_rows(settings, "payments")) == 3
    # the control totals are read on the cut-over night only: the next night's files are not compared
    write_feed(settings, "payments", DAY + timedelta(days=1), [_payment("P-4", "O-1", "1.00")])
    assert ingest_file(settings, "payments", DAY + timedelta(days=1)).control_totals == []


def test_a_migration_load_with_a_payment_missing_stops_the_payments_feed(home):
    from lifecycle.io.ingest import ControlTotalsMismatch

    settings = _migration(home, [MIGRATED_PAYMENTS[0], MIGRATED_PAYMENTS[2]])  # P-2 (38.61) went missing
    assert _ingest_until_payments(settings)["orders"].control_totals[0]["matches"]
    with pytest.raises(ControlTotalsMismatch) as err:
        ingest_file(settings, "payments", DAY)
    path = settings.landing_file("payments", DAY)
    assert str(err.value) == (
        f"{path}: the migration load does not match its control totals "
        f"({settings.landing / 'migration_control' / '2026-03-02.csv'}): "
        "payments USD: expected 2 rows, 80.05; found 1 rows, 41.44; feed payments ingests nothing from this file")
    assert isinstance(err.value, BrokenFeedFile)  # the ingestion asset fails the feed like a broken file
    assert not (settings.raw / "payments").exists()  # nothing written


def test_a_quarantined_migration_record_is_missing_from_the_load(home):
    from lifecycle.io.ingest import ControlTotalsMismatch

    bad = dict(MIGRATED_PAYMENTS[1], amount="38.615")  # too many decimals: quarantined, so not loaded
    settings = _migration(home, [MIGRATED_PAYMENTS[0], bad, MIGRATED_PAYMENTS[2]])
    _ingest_until_payments(settings)
    with pytest.raises(ControlTotalsMismatch, match=r"payments USD: expected 2 rows, 80.05; found 1 rows, 41.44 "
                       r"\(1 line\(s\) of this file were quarantined"):
        ingest_file(settings, "payments", DAY)


def test_a_broken_control_file_stops_the_feeds_it_controls(home):
    settings = _migration(home, MIGRATED_PAYMENTS)
    path = settings.landing / "migration_control" / f"{DAY}.csv"
    path.write_text("feed,currency,rows,amount\norders,USD,2,80.05\npayments,JPY,2,80.05\n", encoding="utf-8")
    order_ = ingestion_order()
    for name in order_[: order_.index("orders")]:
        ingest_file(settings, name, DAY)
    for name in ("orders", "payments"):
        with pytest.raises(BrokenFeedFile, match=r"migration_control/2026-03-02.csv: line 3: currency 'JPY' is not "
                           rf"supported; the migration control file is broken, so feed {name} ingests nothing"):
            ingest_file(settings, name, DAY)


def _ingest_night(settings, monkeypatch) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Run the ingestion step alone for DAY; returns when each feed was ingested (start, end) and the raw assets in
    the order the step reported them."""
    import time

    from dagster import materialize

    import lifecycle.assets.ingest as step
    from lifecycle.resources import LifecycleHome

    spans: dict[str, tuple[float, float]] = {}
    real = step._ingest_feed

    def timed(settings, contract, day):
        started = time.perf_counter()
        try:
            return real(settings, contract, day)
        finally:
            spans[contract.name] = (started, time.perf_counter())

    monkeypatch.setattr(step, "_ingest_feed", timed)
    result = materialize([step.ingest_feeds], partition_key=DAY.isoformat(),
                         resources={"lifecycle": LifecycleHome(home=str(settings.home))})
    assert result.success
    reported = [event.asset_key.path[-1] for event in result.get_asset_materialization_events()]
    return spans, reported


def test_feeds_are_ingested_two_at_a_time_after_the_feeds_they_name_and_a_big_file_alone(home, monkeypatch):
    """Two feeds at once, each after every feed it names; reported in contract order whatever finished first.
    A landing file past BOUNDED_BYTES is ingested with no other feed beside it."""
    import lifecycle.assets.ingest as step
    from lifecycle.contract import FEEDS

    write_reference(home)
    write_feed(home, "orders", DAY, [order()])
    spans, reported = _ingest_night(home, monkeypatch)
    assert set(spans) == {f.name for f in FEEDS} and reported == [f.name for f in FEEDS]
    for feed in FEEDS:
        for upstream in feed.upstream_feeds:
            assert spans[upstream][1] <= spans[feed.name][0], (upstream, feed.name)
    edges = sorted([(start, 1) for start, _ in spans.values()] + [(end, -1) for _, end in spans.values()])
    at_once = [sum(change for _, change in edges[: i + 1]) for i in range(len(edges))]
    assert max(at_once) == 2  # 18 feeds, many independent: two threads are used, never three

    monkeypatch.setattr(step, "BOUNDED_BYTES", 0)  # every file that landed is big now
    spans, reported = _ingest_night(home, monkeypatch)
    assert reported == [f.name for f in FEEDS]
    landed = {f.name for f in FEEDS if home.landing_file(f.name, DAY).exists()}
    assert "orders" in landed and len(landed) >= 5
    for name in landed:
        start, end = spans[name]
        assert [other for other, (s, e) in spans.items() if other != name and s < end and e > start] == [], name
