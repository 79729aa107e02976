"""End to end: real Dagster runs of a few nights on small homes — ingest, dbt build, audit, publish."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from lifecycle.io.warehouse import connect_published, last_published_date
from lifecycle.pipelines.night import run_night
from tests.homes import CUTOVER, END, copy_home
from tests.landing_files import DAY, order, write_feed, write_reference


def snapshot(settings) -> dict[str, str]:
    """A digest of every published table's sorted contents, and of every raw and quarantine file."""
    digests = {}
    con = connect_published(settings)
    try:
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables order by 1, 2"
        ).fetchall():
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            digests[f"{schema}.{table}"] = hashlib.sha256(
                "\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()
    finally:
        con.close()
    for root in (settings.raw, settings.quarantine, settings.exports, settings.state / "register"):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digests[str(path.relative_to(settings.home))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def test_nights_are_published_in_order(published_home):
    settings, outcomes = published_home
    assert [(o.business_date, o.success, o.published) for o in outcomes] == [(CUTOVER, True, True), (END, True, True)]
    assert last_published_date(settings) == END
    assert not (settings.build_warehouse).exists()  # the build was moved into place, not copied


def test_every_planted_bad_row_is_quarantined_with_its_rule(published_home):
    settings, _ = published_home
    with (settings.home / "generator" / "bad_rows.csv").open(encoding="utf-8") as fh:
        planted = {(r["file"], int(r["line"]), r["rule"]) for r in csv.DictReader(fh)}
    assert planted, "the generator plants bad rows"
    con = connect_published(settings)
    quarantined = set(con.execute("select file, line, rule from marts.fct_quarantined_rows").fetchall())
    con.close()
    assert planted <= quarantined
    # nothing else was refused: the generator's good rows are all good
    assert quarantined == planted


def test_rows_read_equal_accepted_plus_quarantined_for_every_file(published_home):
    settings, _ = published_home
    con = connect_published(settings)
    per_file = con.execute(
        "select feed, recorded_date, rows_read, rows_accepted, rows_quarantined from marts.rpt_feed_quality"
    ).fetchall()
    con.close()
    assert per_file
    for feed_name, day, read, accepted, quarantined in per_file:
        path = settings.landing_file(feed_name, day)
        lines = path.read_text(encoding="utf-8").count("\n") - 1  # minus the header
        assert (read, accepted + quarantined) == (lines, lines), (feed_name, day)


def test_staging_is_as_of_the_business_date(published_home, tmp_path):
    """Raw holds END's rows; staging built as of the earlier night CUTOVER holds none of them."""
    from lifecycle.io import dbt
    from lifecycle.io.warehouse import reset_build

    settings = copy_home(published_home[0].home, tmp_path / "home")  # its build is reset below
    con = connect_published(settings)
    tables = {t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
    assert con.execute("select max(recorded_date) from staging.stg_orders").fetchone()[0] == END
    con.close()
    assert {"stg_orders", "stg_payments", "stg_customers", "fct_quarantined_rows", "rpt_feed_quality"} <= tables
    raw_rows = dict(duckdb.execute(
        f"select _recorded_date, count(*) from read_parquet('{settings.raw}/orders/*/data.parquet') group by 1"
    ).fetchall())
    assert raw_rows.get(END, 0) > 0  # something the earlier night must not see

    reset_build(settings, CUTOVER)  # a build of its own (the published file is not touched)
    try:
        invocation = dbt.invoke(settings, ["build", "--select", "stg_orders", "warehouse_night",
                                           "--exclude-resource-type", "test", "unit_test"])
        assert {r.status for r in invocation.results} == {"success"}
        build = duckdb.connect(str(settings.build_warehouse), read_only=True)
        assert build.execute("select business_date from marts.warehouse_night").fetchall() == [(CUTOVER,)]
        assert build.execute("select max(recorded_date), count(*) from staging.stg_orders").fetchone() == (
            CUTOVER, sum(n for d, n in raw_rows.items() if d <= CUTOVER))
        build.close()
    finally:
        settings.build_warehouse.unlink(missing_ok=True)
    assert last_published_date(settings) == END


def test_invoices_one_per_order_numbered_gap_free_and_to_the_cent(published_home):
    from decimal import Decimal

    settings, _ = published_home
    con = connect_published(settings)
    orders = con.execute(
        "select order_id, quantity, unit_price, discount, tax_amount from intermediate.int_orders").fetchall()
    invoices = {r[0]: r[1:] for r in con.execute(
        "select order_id, invoice_id, total_amount from marts.fct_invoices").fetchall()}
    feed_orders = {r[0] for r in con.execute("select order_id from staging.stg_orders").fetchall()}
    lines = dict(con.execute(
        "select invoice_id, sum(net_amount + tax_amount) from marts.fct_invoice_lines group by 1").fetchall())
    con.close()
    assert set(invoices) == {o[0] for o in orders}
    assert feed_orders <= set(invoices) and len(invoices) > len(feed_orders)  # plus autocharge renewals
    for order_id, quantity, unit_price, discount, tax in orders:
        invoice_id, total = invoices[order_id]
        assert total == quantity * unit_price - discount + tax
        assert lines[invoice_id] == total
        assert isinstance(total, Decimal)
    by_year: dict[str, list[int]] = {}
    for invoice_id, _ in invoices.values():
        _, year, number = invoice_id.split("-")
        by_year.setdefault(year, []).append(int(number))
    for numbers in by_year.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))


OVERDUE_BY_CURRENCY = Path(__file__).resolve().parents[1] / "README.md"


def readme_query(marker: str) -> str:
    """The SQL block of the README that follows ``marker``: the README's queries must keep working."""
    text = OVERDUE_BY_CURRENCY.read_text(encoding="utf-8")
    block = text[text.index(marker):].split("```sql", 1)[1].split("```", 1)[0]
    return block.strip()


def test_billing_ties_out_on_the_sample_publisher(published_home):
    from collections import defaultdict
    from decimal import Decimal

    settings, _ = published_home
    con = connect_published(settings)
    q = con.execute
    # every settled cent is applied or held as credit, per customer and currency
    money: dict[tuple, Decimal] = defaultdict(Decimal)
    for customer, currency, status, amount in q(
            "select customer_id, currency, status, amount from staging.stg_payments").fetchall():
        money[(customer, currency)] += {"settled": amount, "chargeback": -amount}.get(status, Decimal(0))
    for customer, currency, amount in q(
            "select customer_id, currency, applied_amount from marts.fct_payment_applications").fetchall():
        money[(customer, currency)] -= amount
    for customer, currency, kind, amount in q(
            "select customer_id, currency, movement_kind, amount from marts.fct_customer_credits").fetchall():
        money[(customer, currency)] -= 0 if kind == "refund" else amount
    assert {k: v for k, v in money.items() if v} == {}
    # renewals created by autocharge are invoiced and paid by the answer that created them
    auto = q("select invoice_status, count(*) from marts.fct_invoices where order_source = 'autocharge' "
             "group by 1").fetchall()
    assert auto and dict(auto).keys() == {"paid"}
    # chains are numbered 1..n and every term has a status
    gaps = q("select subscription_id from marts.dim_subscriptions group by 1 "
             "having max(term_number) <> count(*) or min(term_number) <> 1").fetchall()
    assert gaps == []
    statuses = dict(q("select status, count(*) from marts.dim_subscriptions group by 1").fetchall())
    assert statuses.get("active", 0) > 0 and statuses.get("expired", 0) > 0
    # one key per autocharge attempt; efforts only while a balance remains
    assert q("select count(*) - count(distinct request_key) from marts.fct_autocharge_requests").fetchone() == (0,)
    assert q("select count(*) from marts.fct_billing_efforts where balance_due <= 0").fetchone() == (0,)
    # the README's question: invoices more than 30 days overdue, by currency
    overdue = q(readme_query("more than 30 days overdue")).fetchall()
    expected = q("select currency, count(*), sum(balance_due) from marts.fct_invoices "
                 "where balance_due > 0 and days_overdue > 30 group by 1 order by 1").fetchall()
    con.close()
    assert [tuple(r[:3]) for r in overdue] == expected


def test_export_files_send_each_request_and_message_once(published_home):
    settings, _ = published_home
    con = connect_published(settings)
    sendable = con.execute(
        "select message_id, due_date from marts.fct_outbox_messages where is_sent and channel is not null"
    ).fetchall()
    requests = con.execute(
        "select request_key, request_date, amount, currency from marts.fct_autocharge_requests where is_sent"
    ).fetchall()
    suppressed = con.execute(
        "select count(*) from marts.fct_outbox_messages where is_sent and channel is null"
    ).fetchone()[0]
    con.close()
    sent_messages, sent_requests = {}, {}
    for night in (CUTOVER, END):
        folder = settings.exports / "outbox" / night.isoformat()
        lines = [json.loads(line) for line in (folder / "messages.jsonl").read_text().splitlines()]
        assert json.loads((folder / "control.json").read_text())["messages"] == len(lines)
        for m in lines:
            assert m["message_id"] not in sent_messages, "a message sent twice"
            assert m["due_date"] == night.isoformat()  # no night was skipped: each sends what fell due that day
            assert m["channel"] in ("email", "mail") and m["recipient"]
            sent_messages[m["message_id"]] = m
        folder = settings.exports / "autocharge" / night.isoformat()
        with (folder / "requests.csv").open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        control = json.loads((folder / "control.json").read_text())
        assert control["requests"] == len(rows)
        by_currency = {}
        for r in rows:
            assert r["request_key"] not in sent_requests and r["request_date"] == night.isoformat()
            sent_requests[r["request_key"]] = r
            by_currency[r["currency"]] = by_currency.get(r["currency"], Decimal(0)) + Decimal(r["amount"])
        assert control["amount_by_currency"] == {c: str(a) for c, a in sorted(by_currency.items())}
    # the files hold exactly the sendable rows of the warehouse, and the register exactly the files
    assert set(sent_messages) == {m for m, _ in sendable}
    assert {k: (r["amount"], r["currency"]) for k, r in sent_requests.items()} == {
        k: (str(a), c) for k, _, a, c in requests
    }
    assert sent_messages, "the sample publisher's two nights send messages"
    assert suppressed > 0, "and some customers are not contacted (do_not_contact, deceased, no channel)"
    from lifecycle.io.register import read_register

    assert sorted(read_register(settings, "outbox_messages").column("message_id").to_pylist()) == sorted(sent_messages)
    assert sorted(read_register(settings, "autocharge_requests").column("request_key").to_pylist()) == sorted(
        sent_requests)


def test_nothing_in_the_register_is_dated_before_the_cutover_and_refunds_are_answered(published_home):
    from lifecycle.io.cutover import register_rows_before_cutover

    settings, _ = published_home
    assert register_rows_before_cutover(settings) == []
    con = connect_published(settings)
    statuses = dict(con.execute(
        "select answer_status, count(*) from marts.fct_refund_answers where is_requested group by 1").fetchall())
    payable = dict(con.execute(
        "select currency, sum(credit) - sum(debit) from marts.fct_journal_lines where account_key = 'refunds_payable' "
        "group by 1").fetchall())
    unanswered = dict(con.execute(
        "select currency, sum(open_amount) from marts.fct_refund_answers group by 1").fetchall())
    con.close()
    # every refund requested on the cut-over night was answered by the sample processor the next day
    assert statuses.keys() <= {"answered", "open"}
    assert {c: v for c, v in payable.items() if v} == {c: v for c, v in unanswered.items() if v}


def test_ledger_balances_and_the_gl_export_matches_it(published_home):
    settings, _ = published_home
    con = connect_published(settings)
    unbalanced = con.execute(
        "select count(*) from marts.fct_journal_entries where total_debit <> total_credit "
        "or total_functional_debit <> total_functional_credit"
    ).fetchone()[0]
    ar_ledger = dict(con.execute(
        "select currency, sum(debit) - sum(credit) from marts.fct_journal_lines "
        "where account_key = 'accounts_receivable' group by currency"
    ).fetchall())
    ar_invoices = dict(con.execute(
        "select currency, sum(balance_due) from marts.fct_invoices group by currency"
    ).fetchall())
    movements = {
        (account, currency): (debit, credit)
        for account, currency, debit, credit in con.execute(
            "select account_code, currency, sum(functional_debit), sum(functional_credit) "
            "from marts.fct_journal_lines where period = '2026-11' group by 1, 2"
        ).fetchall()
    }
    detail_rows = con.execute("select count(*) from marts.fct_journal_lines where period = '2026-11'").fetchone()[0]
    before_cutover = con.execute(
        "select distinct source, entry_id from marts.fct_journal_lines where period < '2026-11'"
    ).fetchall()
    con.close()
    assert unbalanced == 0
    assert ar_ledger == ar_invoices
    folder = settings.exports / "gl" / "2026-11"  # the cut-over month
    with (folder / "journal.csv").open(newline="") as fh:
        summary = list(csv.DictReader(fh))
    with (folder / "journal_detail.csv").open(newline="") as fh:
        assert len(list(csv.DictReader(fh))) == detail_rows
    debits = sum(Decimal(r["debit"]) for r in summary)
    assert debits == sum(Decimal(r["credit"]) for r in summary) > 0
    for r in summary:  # one line per account and currency: the period's net movement in functional currency
        debit, credit = movements[(r["account"], r["transaction_currency"])]
        assert Decimal(r["debit"]) - Decimal(r["credit"]) == debit - credit
    # the GL export starts at the opening-balance period (the month before the cut-over month), closed from the
    # start: its journal is the opening-balance entry of each currency, balanced
    opening = settings.exports / "gl" / "2026-10"
    control = json.loads((opening / "control.json").read_text())
    assert control["closed"] is True and control["total_debit"] == control["total_credit"] != "0.00"
    with (opening / "journal_detail.csv").open(newline="") as fh:
        entries = {r["reference"].rsplit(":", 1)[0] for r in csv.DictReader(fh)}
    assert before_cutover and {source for source, _ in before_cutover} == {"opening_balance"}
    assert entries == {entry for _, entry in before_cutover}
    assert not (settings.exports / "gl" / "2026-09").exists()


def test_renewal_report_draws_the_published_cohorts(published_home, tmp_path):
    from lifecycle.cli import main

    settings, _ = published_home
    con = connect_published(settings)
    cohorts = con.execute(
        "select count(*), sum(expiring), sum(renewed), sum(lapsed), sum(pending) from marts.rpt_renewal_cohorts"
    ).fetchone()
    outcomes = con.execute(
        "select count(*), count(case when outcome = 'renewed' then 1 end) from marts.fct_renewal_outcomes"
    ).fetchone()
    con.close()
    rows, expiring, renewed, lapsed, pending = cohorts
    assert rows > 0 and expiring == renewed + lapsed + pending == outcomes[0] and renewed == outcomes[1] > 0
    assert main(["--home", str(settings.home), "report", "renewals", "--out", str(tmp_path)]) == 0
    page = (tmp_path / "renewals.html").read_text()
    assert page.count("<tr") == rows + 1  # the header, then one row per cohort
    png = (tmp_path / "renewals.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert main(["--home", str(settings.home), "report", "renewals", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "renewals.png").read_bytes() == png  # the same night draws the same bytes


def test_rerun_changes_nothing_and_finance_reads_throughout(published_home, tmp_path):
    """Run both nights again in another process while finance keeps reading the published warehouse."""
    settings = copy_home(published_home[0].home, tmp_path / "home")  # the reruns replace its last build
    before = snapshot(settings)
    held = connect_published(settings)  # a connection kept open across the publication
    env = {**os.environ, "LIFECYCLE_HOME": str(settings.home), "DAGSTER_HOME": str(settings.home / "dagster")}
    log = settings.home / "rerun.log"  # a file, not a pipe: the run logs more than a pipe buffers
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lifecycle.cli", "backfill", "--start", CUTOVER.isoformat(),
             "--end", END.isoformat()],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    reads = 0
    while proc.poll() is None:
        con = connect_published(settings)
        assert con.execute("select count(*) from staging.stg_orders").fetchone()[0] > 0
        con.close()
        reads += 1
        time.sleep(0.5)
    output = log.read_text()
    assert proc.returncode == 0, output
    assert reads > 5
    assert held.execute("select count(*) from staging.stg_orders").fetchone()[0] > 0
    held.close()
    assert f"night {CUTOVER}: built, not published" in output  # an older night never replaces a newer one
    assert f"night {END}: published" in output
    assert snapshot(settings) == before


def test_read_only_connections_cannot_touch_files(published_home):
    settings, _ = published_home
    con = connect_published(settings)
    with pytest.raises(duckdb.Error):
        con.execute("select * from read_csv('/etc/hostname')")
    with pytest.raises(duckdb.Error):
        con.execute("create table marts.x as select 1")
    con.close()


def test_customer_timeline_holds_their_orders_and_payments_and_the_cli_prints_it(published_home, capsys):
    """One customer's timeline, against the orders and payments feeds read directly; then `lifecycle customer`."""
    from lifecycle.cli import main

    settings, _ = published_home
    con = connect_published(settings)
    customer_id = con.execute(
        "select customer_id from staging.stg_payments where status = 'settled' "
        "group by customer_id order by count(*) desc, customer_id limit 1").fetchone()[0]
    orders = {r[0]: (r[1], r[2]) for r in con.execute(
        "select order_id, ordered_date, quantity * unit_price - discount + tax_amount from intermediate.int_orders "
        "where customer_id = ?", [customer_id]).fetchall()}
    payments = {r[0]: (r[1], r[2], r[3]) for r in con.execute(
        "select payment_id, paid_date, status, amount from staging.stg_payments where customer_id = ?",
        [customer_id]).fetchall()}
    timeline = con.execute(
        "select event_sequence, event_date, event_type, source_id, amount, description "
        "from marts.fct_customer_timeline where customer_id = ? order by event_sequence", [customer_id]).fetchall()
    con.close()
    assert len(orders) >= 2 and any(status == "settled" for _, status, _ in payments.values())
    assert [row[0] for row in timeline] == list(range(1, len(timeline) + 1))
    assert [row[1] for row in timeline] == sorted(row[1] for row in timeline)
    assert {row[3]: (row[1], row[4]) for row in timeline if row[2] == "order"} == orders
    assert {row[3]: (row[1], row[2].removeprefix("payment_"), row[4])
            for row in timeline if row[2].startswith("payment_")} == payments
    for order_id, (_, amount) in orders.items():
        assert isinstance(amount, Decimal)
        line = next(row[5] for row in timeline if row[3] == order_id)
        assert line.startswith(f"Order {order_id} (") and f"{amount} " in line

    assert main(["--home", str(settings.home), "customer", customer_id]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"{customer_id}  ") and "segment " in printed[0] and "flags: " in printed[0]
    assert printed[1] == f"timeline as of night {END}: {len(timeline)} events"
    assert printed[2:] == [f"{d}  {t:<20}{text}" for _, d, t, _, _, text in timeline]

    assert main(["--home", str(settings.home), "customer", customer_id, "--limit", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == [f"{d}  {t:<20}{text}" for _, d, t, _, _, text in timeline[-2:]]
    assert main(["--home", str(settings.home), "customer", "C-NOBODY"]) == 1
    assert "unknown customer 'C-NOBODY'" in capsys.readouterr().err


def test_customer_command_before_any_night_is_published(home, capsys):
    from lifecycle.cli import main

    assert main(["--home", str(home.home), "customer", "C0000001"]) == 1
    assert "no night has been published yet" in capsys.readouterr().err


@pytest.mark.nights
def test_broken_file_and_failed_test_withhold_the_night(home):
    """A broken file stops its feed and the publication; a failing dbt test does too; fixing reopens the night."""
    write_reference(home)
    write_feed(home, "orders", DAY, [order()])
    # a payment naming an invoice the warehouse does not hold: kept as credit, and finance is told (a warning)
    write_feed(home, "payments", DAY, [{
        "payment_id": "P-0", "customer_id": "C-1", "invoice_id": "INV-9999", "paid_at": "2026-03-02T09:30:00-05:00",
        "amount": "1.00", "currency": "USD", "method": "card", "status": "settled"}])
    first = run_night(home, DAY, ephemeral=True)
    assert first.published, first.failures
    assert [(w.domain, w.check, w.message) for w in first.gates.warnings] == [
        ("billing", "assert_payments_name_invoices_of_their_own_currency", "1 row")]
    con = connect_published(home)
    # the customer's own money, applied by the rules: to their open invoice, not to the one it named
    assert con.execute("select payment_id, invoice_id, applied_amount from marts.fct_payment_applications").fetchall(
    ) == [("P-0", con.execute("select invoice_id from marts.fct_invoices").fetchone()[0], Decimal("1.00"))]
    con.close()

    night2 = DAY + timedelta(days=1)
    good = order(order_id="O-2", subscription_id="S-2", ordered_at="2026-03-03T09:00:00-05:00")
    path = write_feed(home, "orders", night2, [good], header=[c for c in good if c != "currency"])
    write_feed(home, "payments", night2, [{
        "payment_id": "P-1", "customer_id": "C-1", "order_id": "O-1", "paid_at": "2026-03-03T09:30:00-05:00",
        "amount": "41.44", "currency": "USD", "method": "card", "status": "settled"}])
    second = run_night(home, night2, ephemeral=True)
    assert (second.success, second.published) == (False, False)
    steps = dict(second.failures)
    assert list(steps) == ["raw__orders"]
    assert f"{path}: line 1 (header): missing column(s) currency" in steps["raw__orders"]
    assert last_published_date(home) == DAY
    # feeds that do not name orders went on; payments and interactions (which do) wait for them
    for independent in ("customers", "fx_rates", "inventory_receipts"):
        assert (home.raw / independent / f"recorded_date={night2}").exists()
    for waiting in ("payments", "interactions", "cancellations"):
        assert not (home.raw / waiting / f"recorded_date={night2}").exists()

    # A corrupted earlier partition is caught by the dbt tests: still not published.
    write_feed(home, "orders", night2, [good])
    raw_orders = home.raw / "orders" / f"recorded_date={DAY}" / "data.parquet"
    pristine = raw_orders.read_bytes()
    duckdb.execute(f"copy (select * replace (cast(null as varchar) as customer_id) from read_parquet('{raw_orders}')) "
                   f"to '{raw_orders}.bad' (format parquet)")
    Path(f"{raw_orders}.bad").replace(raw_orders)
    third = run_night(home, night2, ephemeral=True)
    assert (third.success, third.published) == (False, False)
    assert ("foundation", "not_null_stg_orders_customer_id") in [(f.domain, f.check) for f in third.gates.failures]
    assert third.reason.startswith("withheld, the warehouse stays at 2026-03-02: foundation gate failed")
    assert last_published_date(home) == DAY
    # the foundation gate holds every export back
    assert not [p for p in home.exports.rglob("*") if night2.isoformat() in p.parts]

    raw_orders.write_bytes(pristine)
    fourth = run_night(home, night2, ephemeral=True)
    assert fourth.published, fourth.failures
    con = connect_published(home)
    assert con.execute("select order_id from staging.stg_orders order by 1").fetchall() == [("O-1",), ("O-2",)]
    con.close()


def test_dbt_unit_tests_pass(published_home):
    """The models' unit tests run here, in `make test` (a night runs only the data tests); dbt reads the input
    columns from a copy of the published warehouse."""
    import shutil

    from lifecycle.io import dbt

    settings, _ = published_home
    shutil.copyfile(settings.warehouse, settings.build_warehouse)
    try:
        invocation = dbt.invoke(settings, ["test", "--select", "test_type:unit"])
    finally:
        settings.build_warehouse.unlink()
    manifest = dbt.manifest_json(settings)
    assert len(invocation.results) == len(manifest["unit_tests"]) >= 40
    assert [(r.unique_id, r.message) for r in invocation.results if r.status != "pass"] == []


def test_every_published_column_is_described(published_home):
    """Finance's data dictionary (``make docs``) describes every column of every published table."""
    import duckdb

    from lifecycle.io import dbt

    settings, _ = published_home
    manifest = dbt.manifest_json(settings)
    described = {n["name"]: {c for c, col in n["columns"].items() if col.get("description", "").strip()}
                 for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")}
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        columns = con.execute("select table_name, column_name from information_schema.columns "
                              "order by table_name, ordinal_position").fetchall()
    finally:
        con.close()
    models = [t for t, _ in columns if t in described]
    assert len(set(models)) >= 90
    assert [(t, c) for t, c in columns if t in described and c not in described[t]] == []


def test_a_second_night_on_a_home_is_refused_at_once(home):
    """While one process runs a night, `nightly` on the same home exits at once (rc 75) naming it and its PID."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from lifecycle.io.lock import night_lock; from lifecycle.settings import get_settings\n"
         f"with night_lock(get_settings({str(home.home)!r}), 'night 2026-11-20'):\n"
         "    print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = subprocess.run(
            [sys.executable, "-m", "lifecycle.cli", "--home", str(home.home), "nightly", "--date", "2026-11-21"],
            capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
        backfill = subprocess.run(
            [sys.executable, "-m", "lifecycle.cli", "--home", str(home.home), "backfill", "--start", "2026-11-21",
             "--end", "2026-11-22"], capture_output=True, text=True, timeout=120,
            cwd=Path(__file__).resolve().parents[1])
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    for proc in (refused, backfill):
        assert proc.returncode == 75
        assert f"night 2026-11-20 is running on this home (PID {holder.pid}, since " in proc.stderr
    assert not (home.state / "gates").exists()  # nothing of the refused night ran
    # once the first process is gone, the lock is free again
    from lifecycle.io.lock import night_lock

    with night_lock(home, "night 2026-11-21"):
        assert json.loads((home.state / "night.lock").read_text())["pid"] == os.getpid()
