"""The cut-over, end to end on a hand-written migration load: nothing due before the cut-over is sent, what falls
due on the cut-over night is; a prorated refund requested that night is answered by the sample processor and
the next night refunds payable is back to 0.00.

Cut-over C = 2026-03-02 (a Monday). Five customers, everything in USD (the functional currency), tax 10 %:
- C-1: a 12-month digital term invoiced net 30 on C − 42 (2026-01-19), never paid: efforts due 01-19 (the
  invoice), 02-09 (reminder 2), 03-02 = C (reminder 3), 03-23. Only reminder 3 is sent.
- C-2: a 12-month digital term renewed by notice, 2025-03-09 → 2026-03-09 = C + 7: notices due at −60 (01-08),
  −30 (02-07), −7 (03-02 = C), 0, +14. Only notice 3 is sent.
- C-3: a 12-month digital term on autorenew with a card, 2025-03-04 → 2026-03-04: attempt 1 on end − 5 =
  02-27 (failed, in the load), attempt 2 on attempt 1 + 3 days = 03-02 = C. Only attempt 2 is requested; the
  upcoming-autocharge notice (02-20) and the payment-failed message (02-27) are the past.
- C-4: a weekly print magazine, 12 issues from 2026-02-10: issue W0304 (list close 02-27, ships 03-04) had its
  manifest built by the legacy system; issue W0307 (list close 03-02 = C, ships 03-07) is tonight's manifest.
- C-5: a 12-month digital term from 2026-01-01 at 120.00 + 12.00 tax, paid, cancelled on C (prorated policy, no
  fee). Served [01-01, 03-02) = 60 of 365 days: 120.00 × 60 / 365 = 19.73 (cumulative by month: 10.19, 19.40,
  19.73); refund net = 120.00 − 19.73 = 100.27; its tax = 100.27 × 12.00 / 120.00 = 10.027, rounded down 10.02;
  refund 110.29, requested on C and answered by the sample processor in the payments file of C + 1.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from lifecycle.generator.processor import answer_refund_requests
from lifecycle.io.cutover import register_rows_before_cutover
from lifecycle.io.register import read_register
from lifecycle.io.warehouse import connect_published
from lifecycle.keys import autocharge_request_key, refund_answer_payment_id
from lifecycle.pipelines.night import run_night
from lifecycle.settings import get_settings, load_settings
from tests.landing_files import CREDIT_POLICY, CUSTOMER, OFFER, PRODUCT, init_hand_written_home, write_feed

C = date(2026, 3, 2)
NEXT = C + timedelta(days=1)


def _customer(n: int) -> dict:
    return dict(CUSTOMER, customer_id=f"C-{n}", first_name=f"Reader{n}", email=f"c{n}@example.org")


def _order(n: int, ordered: str, start: str, offer: str = "OF-DIG12", **kw) -> dict:
    price, tax = ("120.00", "12.00") if offer == "OF-DIG12" else ("39.00", "3.90")
    return {"order_id": f"O-{n}", "customer_id": f"C-{n}", "subscription_id": f"S-{n}",
            "ordered_at": f"{ordered}T10:00:00-05:00", "order_type": "new", "offer_id": offer, "quantity": 1,
            "unit_price": price, "discount": "0.00", "tax_rate": "0.1000", "tax_amount": tax, "currency": "USD",
            "service_start": start, "autorenew": "false", "payment_terms": "prepaid", **kw}


def _paid(n: int, day: str, amount: str, **kw) -> dict:
    return {"payment_id": f"P-{n}", "customer_id": f"C-{n}", "order_id": f"O-{n}", "paid_at": f"{day}T10:05:00-05:00",
            "amount": amount, "currency": "USD", "method": "card", "status": "settled", **kw}


def _issues() -> list[dict]:
    """Weekly issues shipping on Saturdays, list close five days before, and a special issue open over C."""
    rows = []
    ship = date(2026, 1, 3)
    while ship <= date(2026, 7, 4):
        rows.append({"issue_id": f"W{ship:%m%d}", "product_id": "MAG-PRINT", "cover_date": ship.isoformat(),
                     "list_close_date": (ship - timedelta(days=5)).isoformat(), "ship_date": ship.isoformat()})
        ship += timedelta(days=7)
    rows.append({"issue_id": "W0304", "product_id": "MAG-PRINT", "cover_date": "2026-03-04",
                 "list_close_date": "2026-02-27", "ship_date": "2026-03-04"})
    return rows


def _write_migration_load(settings) -> None:
    write_feed(settings, "products", C, [
        dict(PRODUCT, issues_per_year=52),
        {"product_id": "MAG-DIGITAL", "product_name": "The Magazine, digital", "kind": "digital_publication",
         "revenue_method": "ratable_daily", "fulfillment_channel": "digital_access"},
    ])
    write_feed(settings, "credit_policies", C, [
        CREDIT_POLICY,
        {"credit_policy_id": "CP-PRO", "full_refund_days": 14, "no_refund_after_days": 999,
         "cancellation_fee_type": "none"},
    ])
    write_feed(settings, "offers", C, [
        dict(OFFER, countries=""),
        {"offer_id": "OF-DIG12", "offer_name": "Digital, 12 months", "term_length": 12, "term_unit": "months",
         "price": "120.00", "currency": "USD", "autorenew_allowed": "true", "credit_policy_id": "CP-PRO",
         "renewal_offer_id": "OF-DIG12", "available_from": "2020-01-01"},
    ])
    write_feed(settings, "offer_components", C, [
        {"offer_id": "OF-PRINT-USD", "component_seq": 1, "product_id": "MAG-PRINT", "quantity": 1},
        {"offer_id": "OF-DIG12", "component_seq": 1, "product_id": "MAG-DIGITAL", "quantity": 1},
    ])
    write_feed(settings, "issue_schedules", C, _issues())
    write_feed(settings, "shippers", C, [
        {"shipper_id": "SH-1", "shipper_name": "Print Co", "role": "printer", "spoilage_percent": "2.5"}])
    write_feed(settings, "shipper_routing", C, [{"routing_id": "R-1", "shipper_id": "SH-1"}])
    write_feed(settings, "customers", C, [_customer(n) for n in range(1, 6)])
    write_feed(settings, "orders", C, [
        _order(3, "2025-03-01", "2025-03-04", autorenew="true", payment_method_token="tok_3"),
        _order(2, "2025-03-05", "2025-03-09"),
        _order(5, "2026-01-01", "2026-01-01"),
        _order(1, "2026-01-19", "2026-01-19", payment_terms="net_30"),
        _order(4, "2026-02-05", "2026-02-10", offer="OF-PRINT-USD"),
    ])
    write_feed(settings, "payments", C, [
        _paid(3, "2025-03-01", "132.00"),
        _paid(2, "2025-03-05", "132.00"),
        _paid(5, "2026-01-01", "132.00"),
        _paid(4, "2026-02-05", "42.90"),
        {"payment_id": "P-3F", "customer_id": "C-3", "paid_at": "2026-02-27T09:00:00-05:00", "amount": "132.00",
         "currency": "USD", "method": "card", "status": "failed",
         "autocharge_request_key": autocharge_request_key("S-3", 1, 1)},
    ])
    write_feed(settings, "cancellations", C, [
        {"cancellation_id": "X-5", "subscription_id": "S-5", "requested_at": "2026-03-02T09:00:00-05:00",
         "effective_date": "2026-03-02", "reason": "price"}])
    control = settings.landing / "migration_control" / f"{C}.csv"
    control.parent.mkdir(parents=True, exist_ok=True)
    # orders: 4 × 132.00 + 42.90 = 570.90; payments (not refunds): 4 settled + 1 failed = 570.90
    control.write_text("feed,currency,rows,amount\norders,USD,5,570.90\npayments,USD,5,570.90\n", encoding="utf-8")


@pytest.fixture(scope="module")
def cutover_home(tmp_path_factory, dbt_manifest):
    import os

    path = tmp_path_factory.mktemp("cutover") / "home"
    init_hand_written_home(path)
    toml = path / "lifecycle.toml"
    toml.write_text(toml.read_text().replace('cutover_date = ""', f'cutover_date = "{C}"'))
    os.environ["LIFECYCLE_HOME"] = str(path)
    load_settings.cache_clear()
    settings = get_settings(path)
    assert settings.cutover_date == C
    _write_migration_load(settings)
    first = run_night(settings, C, ephemeral=True)
    assert first.published, first.failures
    con = connect_published(settings)
    payable_on_c = con.execute("select sum(credit) - sum(debit) from marts.fct_journal_lines "
                               "where account_key = 'refunds_payable'").fetchone()[0]
    con.close()
    processed = answer_refund_requests(settings, C)
    second = run_night(settings, NEXT, ephemeral=True)
    assert second.published, second.failures
    return settings, payable_on_c, processed


def _csv(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_only_what_falls_due_on_the_cutover_night_is_sent(cutover_home):
    settings, _, _ = cutover_home
    con = connect_published(settings)
    invoice_1 = con.execute("select invoice_id from marts.fct_invoices where order_id = 'O-1'").fetchone()[0]
    con.close()
    messages = [json.loads(line) for line in
                (settings.exports / "outbox" / C.isoformat() / "messages.jsonl").read_text().splitlines()]
    by_type = {(m["message_type"], m["about"], m["effort_number"]) for m in messages}
    # the reminder and the notice due on C; the cancellation and its refund, decided on C
    assert ("invoice_reminder", invoice_1, 3) in by_type
    assert {m["message_id"] for m in messages if m["message_type"] == "renewal_notice"} == {"renewal_notice:S-2:1:3"}
    assert {m["message_type"] for m in messages if m["customer_id"] == "C-5"} == {
        "cancellation_confirmation", "refund"}
    # nothing of the past: no invoice, receipt, order confirmation, earlier effort or notice, no autocharge notices
    assert all(m["due_date"] == C.isoformat() for m in messages)
    assert not any(m["message_type"] in ("invoice", "payment_receipt", "order_confirmation", "upcoming_autocharge",
                                         "payment_failed") for m in messages)
    assert len(messages) == 4
    # autocharge: attempt 2 only (attempt 1 on 02-27 was the legacy's, and failed)
    requests = _csv(settings.exports / "autocharge" / C.isoformat() / "requests.csv")
    assert [(r["request_key"], r["attempt"], r["amount"]) for r in requests] == [
        (autocharge_request_key("S-3", 1, 2), "2", "132.00")]
    # manifests: tonight's issue W0307 goes to the printer; W0304 (list closed 02-27) was the legacy's
    folder = settings.exports / "manifests" / C.isoformat()
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.csv")) == ["SH-1/W0307.csv"]
    assert [r["manifest_line_id"] for r in _csv(folder / "SH-1" / "W0307.csv")] == ["S-4:1:W0307"]
    manifest_register = read_register(settings, "manifest_lines").to_pylist()
    assert {(r["manifest_line_id"], r["baseline"]) for r in manifest_register} == {
        ("S-4:1:W0307", False), ("S-4:1:W0304", True)}
    # access: the cut-over night records the legacy gatekeeper's set and sends nothing
    assert _csv(settings.exports / "access" / C.isoformat() / "changes.csv") == []
    # the register holds nothing due before the cut-over, on either night
    assert register_rows_before_cutover(settings) == []
    # the next night sends nothing of the past either, and W0304 is never sent
    assert not (settings.exports / "manifests" / NEXT.isoformat() / "SH-1" / "W0304.csv").exists()


def test_a_prorated_refund_requested_on_the_cutover_is_answered_and_refunds_payable_clears(cutover_home):
    settings, payable_on_c, processed = cutover_home
    requests = _csv(settings.exports / "refunds" / C.isoformat() / "requests.csv")
    assert [(r["refund_id"], r["original_payment_id"], r["refund_window"], r["refund_net_amount"],
             r["refund_tax_amount"], r["amount"]) for r in requests] == [
        (requests[0]["refund_id"], "P-5", "prorated", "100.27", "10.02", "110.29")]
    assert payable_on_c == Decimal("110.29")  # night C: the request is open
    answer_id = refund_answer_payment_id(requests[0]["refund_id"])
    assert processed.answered_on == NEXT and [a["payment_id"] for a in processed.answers] == [answer_id]
    answers = _csv(settings.landing_file("payments", NEXT))
    assert [(a["payment_id"], a["status"], a["amount"], a["original_payment_id"], a["processor_reference"])
            for a in answers] == [(answer_id, "refunded", "110.29", "P-5", requests[0]["refund_id"])]
    # answering the same night again appends nothing
    assert answer_refund_requests(settings, C).answers == []
    con = connect_published(settings)
    payable = con.execute("select sum(credit) - sum(debit) from marts.fct_journal_lines "
                          "where account_key = 'refunds_payable'").fetchone()[0]
    status = con.execute("select refund_id, answer_status, answer_payment_id, open_amount "
                         "from marts.fct_refund_answers").fetchall()
    con.close()
    assert payable == Decimal("0.00")
    assert status == [(requests[0]["refund_id"], "answered", answer_id, Decimal("0.00"))]


def test_the_migration_control_totals_were_checked(cutover_home):
    settings, _, _ = cutover_home
    for feed_name, expected in (("orders", [("orders", 5, "570.90")]), ("payments", [("payments", 5, "570.90")])):
        report = json.loads((settings.state / "ingest" / C.isoformat() / f"{feed_name}.json").read_text())
        assert [(c["feed"], c["found_rows"], c["found_amount"]) for c in report["migration_control_totals"]] == expected
