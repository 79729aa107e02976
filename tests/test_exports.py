"""Export files and the register: catch-up after a skipped night, reruns, and webhook delivery.

The published warehouse here is a real DuckDB file holding just the two marts the exports read,
with hand-written rows, so each case states exactly what is due and what was sent.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import date, timedelta

import duckdb
import pytest

from lifecycle.checks.gates import Withheld
from lifecycle.io import register
from lifecycle.io.exports import (
    deliver_outbox,
    export_autocharge_requests,
    export_notice_mail,
    export_outbox,
    export_refund_requests,
)
from lifecycle.settings import Settings
from tests.landing_files import mark_published
from tests.test_webhook import platform  # noqa: F401  (the local messaging platform fixture)

CUTOVER, N1, N2, N3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)

REQUESTS = [
    # key, date, attempt, customer, subscription, term, offer, amount, currency, token, is_sent
    ("AC-OLD", date(2026, 2, 20), 1, "C1", "S1", 1, "DIGM", "10.61", "USD", "tok_1", False),  # before the cut-over
    ("AC-1", N1, 1, "C1", "S1", 2, "DIGM", "10.61", "USD", "tok_1", True),
    ("AC-2", N2, 1, "C2", "S2", 1, "DIG12", "83.94", "USD", "tok_2", True),
    ("AC-3", N3, 2, "C3", "S3", 4, "DIGM", "15.81", "CAD", "tok_3", True),
]

MESSAGES = [
    # id, type, customer, due, is_sent, channel, recipient
    ("invoice:INV-2026-000001", "invoice", "C1", N1, True, "email", "c1@example.org"),
    ("payment_receipt:P1", "payment_receipt", "C2", N2, True, "mail", "1 Main St, Springfield, 01101, US"),
    ("payment_failed:P2", "payment_failed", "C3", N2, True, None, None),  # do_not_contact: never exported
    ("order_confirmation:O9", "order_confirmation", "C3", N3, True, "email", "c3@example.org"),
    ("order_confirmation:O1", "order_confirmation", "C1", date(2026, 2, 1), False, "email", "c1@example.org"),
]

NOTICE_MESSAGES = [
    # renewal notices: two by post (one with a name a spreadsheet would run as a formula), one by e-mail
    ("renewal_notice:S5:1:2", "renewal_notice", "C5", N2, True, "mail", "9 Elm St, Salem, 01970, US", "=HYPERLINK(x)",
     ("9 Elm St", "Salem", "MA", "01970", "US")),
    ("renewal_notice:S6:1:1", "renewal_notice", "C6", N2, True, "mail", "2 Oak Rd, Boston, 02108, US", "Grace",
     ("2 Oak Rd", "Boston", "MA", "02108", "US")),
    ("renewal_notice:S7:1:1", "renewal_notice", "C7", N2, True, "email", "c7@example.org"),
]

NOTICES = [
    # notice id, due, customer, subscription, k, term end, offer, amount with tax, currency
    ("renewal_notice:S5:1:2", N2, "C5", "S5", 2, date(2026, 4, 2), "PRT12-USD", "52.68", "USD"),
    ("renewal_notice:S6:1:1", N2, "C6", "S6", 1, date(2026, 5, 2), "PRT12-USD", "52.68", "USD"),
    ("renewal_notice:S7:1:1", N2, "C7", "S7", 1, date(2026, 5, 2), "DIG12-USD", "83.94", "USD"),
]

REFUNDS = [
    # refund id, decided on, customer, invoice, payment, window, net, tax, amount, currency, is_requested
    ("RF-INV-2026-000001", date(2026, 2, 25), "C1", "INV-2026-000001", "P1", "prorated", "74.53", "7.45", "81.98",
     "USD", False),  # decided before the cut-over: the legacy system paid it
    ("RF-INV-2026-000007", N1, "C2", "INV-2026-000007", "P7", "prorated", "74.53", "7.45", "81.98", "USD", True),
    ("RF-INV-2026-000009", N1, "C3", "INV-2026-000009", "P9", "full_refund", "27.27", "2.73", "30.00", "CAD", True),
    ("RF-INV-2026-000011", N2, "C4", "INV-2026-000011", "P11", "no_refund", "0.00", "0.00", "0.00", "USD", False),
]


def publish(settings: Settings, night: date, notices: bool = False) -> None:
    """A published warehouse as of ``night``: the rows known by then (with renewal notices if asked)."""
    settings.warehouse.unlink(missing_ok=True)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("create schema marts")
    con.execute(
        "create table marts.fct_autocharge_requests (request_key varchar, request_date date, attempt integer, "
        "customer_id varchar, subscription_id varchar, term_number integer, renewal_offer_id varchar, "
        "amount decimal(18, 2), currency varchar, payment_method_token varchar, is_sent boolean)"
    )
    con.executemany(
        "insert into marts.fct_autocharge_requests values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [r for r in REQUESTS if r[1] <= night],
    )
    con.execute(
        "create table marts.fct_outbox_messages (message_id varchar, message_type varchar, effort_number integer, "
        "customer_id varchar, subscription_id varchar, source_id varchar, due_date date, is_sent boolean, "
        "channel varchar, recipient varchar, first_name varchar, last_name varchar, template_variables varchar, "
        "address_line1 varchar, address_line2 varchar, city varchar, region varchar, postal_code varchar, "
        "country varchar)"
    )
    con.executemany(
        "insert into marts.fct_outbox_messages values (?, ?, null, ?, null, ?, ?, ?, ?, ?, ?, 'Lovelace', ?, "
        "?, null, ?, ?, ?, ?)",
        [(m[0], m[1], m[2], m[0].split(":")[1], m[3], m[4], m[5], m[6], m[7] if len(m) > 7 else "Ada",
          json.dumps({"amount": "10.61"}), *(m[8] if len(m) > 8 else (None,) * 5))
         for m in MESSAGES + (NOTICE_MESSAGES if notices else []) if m[3] <= night],
    )
    con.execute(
        "create table marts.fct_renewal_notices (notice_id varchar, due_date date, customer_id varchar, "
        "subscription_id varchar, notice_number integer, term_end date, proposed_offer_id varchar, "
        "offered_total_amount decimal(18, 2), currency varchar)"
    )
    con.execute(
        "create table marts.fct_upsell_candidates (touchpoint_id varchar, offer_id varchar, is_marketable boolean)"
    )
    if notices:  # the digital add-on rides S6's letter (opted in); S5 did not opt in to marketing mail
        con.execute("insert into marts.fct_upsell_candidates values ('renewal_notice:S6:1:1', 'DIGM-USD', true), "
                    "('renewal_notice:S5:1:2', 'DIGM-USD', false)")
    due = [n for n in NOTICES if n[1] <= night and notices]
    if due:
        con.executemany("insert into marts.fct_renewal_notices values (?, ?, ?, ?, ?, ?, ?, ?, ?)", due)
    con.execute(
        "create table marts.fct_refunds (refund_id varchar, decided_on date, customer_id varchar, invoice_id varchar, "
        "original_payment_id varchar, refund_window varchar, refund_net_amount decimal(18, 2), "
        "refund_tax_amount decimal(18, 2), refund_amount decimal(18, 2), currency varchar, is_requested boolean)"
    )
    con.executemany(
        "insert into marts.fct_refunds values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [r for r in REFUNDS if r[1] <= night]
    )
    con.close()
    mark_published(settings, night)


def request_keys(settings: Settings, night: date) -> list[str]:
    with (settings.exports / "autocharge" / night.isoformat() / "requests.csv").open(newline="") as fh:
        return [r["request_key"] for r in csv.DictReader(fh)]


def test_a_skipped_night_is_caught_up_and_nothing_is_sent_twice(home):
    publish(home, N1)
    assert export_autocharge_requests(home, N1).rows == 1
    # night 2 never exported (withheld, say); night 3 sends what fell due on 2 and 3
    publish(home, N3)
    result = export_autocharge_requests(home, N3)
    assert request_keys(home, N1) == ["AC-1"]
    assert request_keys(home, N3) == ["AC-2", "AC-3"]
    assert result.control == {
        "business_date": "2026-03-04",
        "file": "requests.csv",
        "requests": 2,
        "amount_by_currency": {"CAD": "15.81", "USD": "83.94"},
    }
    first = (home.exports / "autocharge" / N3.isoformat() / "requests.csv").read_bytes()
    export_autocharge_requests(home, N3)  # a rerun writes the same bytes and records nothing new
    assert (home.exports / "autocharge" / N3.isoformat() / "requests.csv").read_bytes() == first
    assert first.decode().splitlines()[1] == "AC-2,2026-03-03,1,C2,S2,1,DIG12,83.94,USD,tok_2"
    assert register.sent_keys(home, "autocharge_requests", "request_key", through=N3) == {"AC-1", "AC-2", "AC-3"}


def test_the_register_refuses_to_unsend(home):
    publish(home, N3)
    export_autocharge_requests(home, N3)
    different = register.read_register(home, "autocharge_requests").drop_columns(["night"]).slice(0, 1)
    with pytest.raises(register.RegisterConflict, match="what was sent cannot be unsent"):
        register.record(home, "autocharge_requests", N3, different, key="request_key")


def test_nothing_is_exported_from_a_night_older_than_the_published_one_or_never_audited(home):
    publish(home, N3)
    with pytest.raises(Withheld, match="night 2026-03-03 is older than the published night 2026-03-04"):
        export_outbox(home, N2)
    with pytest.raises(Withheld, match="night 2026-03-05 has not been built and audited"):
        export_outbox(home, N3 + timedelta(days=1))


def test_outbox_file_holds_sendable_messages_and_delivery_retries_only_the_failed(home, platform):  # noqa: F811
    publish(home, N2)
    night2 = export_outbox(home, N2)
    lines = [json.loads(line) for line in night2.path.read_text().splitlines()]
    # due by night 2, sent from the cut-over on, with a channel: the do_not_contact message stays out
    assert [m["message_id"] for m in lines] == ["invoice:INV-2026-000001", "payment_receipt:P1"]
    assert lines[1]["channel"] == "mail" and lines[1]["variables"] == {"amount": "10.61"}
    assert night2.control["by_channel"] == {"email": 1, "mail": 1}

    settings = dataclasses.replace(home, webhook_url=platform.url, webhook_max_attempts=2)
    platform.script["payment_receipt:P1"] = [503, 503, 200]  # down for the first run's two attempts
    first = deliver_outbox(settings, N2, sleep=lambda s: None)
    assert (first.attempted, first.delivered, first.failed) == (2, 1, 1)
    assert platform.keys() == ["invoice:INV-2026-000001", "payment_receipt:P1", "payment_receipt:P1"]

    publish(home, N3)
    export_outbox(home, N3)
    second = deliver_outbox(settings, N3, sleep=lambda s: None)
    # night 3 delivers its own message and retries night 2's failure; the delivered one is not sent again
    assert (second.attempted, second.delivered, second.failed) == (2, 2, 0)
    assert platform.keys()[3:] == ["payment_receipt:P1", "order_confirmation:O9"]
    with (home.exports / "outbox" / N2.isoformat() / "deliveries.csv").open(newline="") as fh:
        night2_log = [(r["message_id"], r["status"], r["attempts"], r["http_status"]) for r in csv.DictReader(fh)]
    assert night2_log == [("invoice:INV-2026-000001", "delivered", "1", "200"),
                          ("payment_receipt:P1", "failed", "2", "503")]
    assert deliver_outbox(settings, N3, sleep=lambda s: None).attempted == 0  # a rerun sends nothing


def test_no_delivery_without_a_webhook(home):
    publish(home, N1)
    export_outbox(home, N1)
    assert deliver_outbox(home, N1).skipped_reason.startswith("no webhook_url")


def test_a_build_that_would_change_a_closed_period_is_not_published(home):
    from lifecycle.io.warehouse import PublishError, audit_closed_periods

    settings = dataclasses.replace(home, period_close={"2026-10": date(2026, 11, 5)})

    def journal(path, october_cash):
        con = duckdb.connect(str(path))
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_journal_lines as select * from (values "
            "('payment:P1:2', date '2026-10-20', '2026-10', '1010', 'USD', cast(? as decimal(18, 2)), 0.00, "
            "cast(? as decimal(18, 2)), 0.00), "
            "('payment:P2:2', date '2026-11-09', '2026-11', '1010', 'USD', 7.00, 0.00, 7.00, 0.00)) "
            "as t(journal_line_id, entry_date, period, account_code, currency, debit, credit, functional_debit, "
            "functional_credit)",
            [october_cash, october_cash],
        )
        con.close()

    settings.build_dir.mkdir(parents=True, exist_ok=True)
    journal(settings.warehouse, "50.00")
    journal(settings.build_warehouse, "50.00")
    audit_closed_periods(settings, date(2026, 11, 10))  # October unchanged; November is open and may change
    settings.build_warehouse.unlink()
    journal(settings.build_warehouse, "55.00")
    with pytest.raises(PublishError, match=r"2026-10: 2 lines differ \(e.g. payment:P1:2\)"):
        audit_closed_periods(settings, date(2026, 11, 10))
    audit_closed_periods(settings, date(2026, 11, 4))  # before the close, October could still change


def test_refund_requests_carry_the_payment_to_refund_and_control_totals(home):
    publish(home, N2)
    result = export_refund_requests(home, N2)
    folder = home.exports / "refunds" / N2.isoformat()
    with (folder / "requests.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    # the legacy refund and the decision that refunds nothing are not requested
    assert [(r["refund_id"], r["original_payment_id"], r["amount"], r["currency"]) for r in rows] == [
        ("RF-INV-2026-000007", "P7", "81.98", "USD"),
        ("RF-INV-2026-000009", "P9", "30.00", "CAD"),
    ]
    assert rows[0]["refund_net_amount"] == "74.53" and rows[0]["refund_tax_amount"] == "7.45"
    control = json.loads((folder / "control.json").read_text())
    assert result.rows == control["requests"] == 2
    assert control["amount_by_currency"] == {"CAD": "30.00", "USD": "81.98"}
    # the next night sends nothing again
    publish(home, N3)
    assert export_refund_requests(home, N3).rows == 0


def test_notice_letters_for_the_lettershop_are_sorted_by_postal_code_and_formula_safe(home):
    publish(home, N2, notices=True)
    result = export_notice_mail(home, N2)
    with (home.exports / "notices" / N2.isoformat() / "mail.csv").open(newline="") as fh:
        letters = list(csv.DictReader(fh))
    # only the notices going by post; Boston (02108) after Salem (01970)
    assert [(r["notice_id"], r["postal_code"], r["amount"]) for r in letters] == [
        ("renewal_notice:S5:1:2", "01970", "52.68"),
        ("renewal_notice:S6:1:1", "02108", "52.68"),
    ]
    assert letters[0]["first_name"] == "'=HYPERLINK(x)"  # neutralised: a spreadsheet shows it as text
    assert letters[1]["address_line1"] == "2 Oak Rd" and letters[1]["offer_id"] == "PRT12-USD"
    assert [r["upsell_offer_id"] for r in letters] == ["", "DIGM-USD"]  # the insert only where opted in
    control = json.loads((home.exports / "notices" / N2.isoformat() / "control.json").read_text())
    assert result.rows == control["letters"] == 2
    assert control["amount_by_currency"] == {"USD": "105.36"}


def publish_access(settings: Settings, night: date, entitlements: list[tuple]) -> None:
    """A published warehouse whose fct_access_entitlements holds ``entitlements`` (customer, product, start, end)."""
    settings.warehouse.unlink(missing_ok=True)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("create schema marts")
    con.execute("create table marts.fct_access_entitlements (access_key varchar, customer_id varchar, "
                "product_id varchar, access_start date, access_end date)")
    for customer, product, start, end in entitlements:
        con.execute("insert into marts.fct_access_entitlements values (?, ?, ?, ?, ?)",
                    [f"{customer}:{product}", customer, product, start, end])
    con.close()
    mark_published(settings, night)


def test_access_changes_are_the_difference_from_the_last_set_sent(home):
    from lifecycle.io.access import export_access_changes

    settings = dataclasses.replace(home, cutover_date=CUTOVER)
    digital = "MAG-DIGITAL"
    c1 = ("C1", digital, date(2026, 1, 1), date(2027, 1, 1))
    c2 = ("C2", digital, date(2026, 2, 1), date(2026, 3, 3))

    def changes(night):
        with (settings.exports / "access" / night.isoformat() / "changes.csv").open(newline="") as fh:
            return [(r["action"], r["customer_id"], r["access_end"]) for r in csv.DictReader(fh)]

    # the cut-over night: the legacy gatekeeper already holds the set; it is recorded, nothing is sent
    publish_access(settings, CUTOVER, [c1, c2])
    first = export_access_changes(settings, CUTOVER)
    assert first.rows == 0 and first.control["baseline"] and changes(CUTOVER) == []
    # night 1: C3 starts reading, C2's term has ended
    c3 = ("C3", digital, N1, date(2026, 4, 2))
    publish_access(settings, N1, [c1, c3])
    export_access_changes(settings, N1)
    assert changes(N1) == [("revoke", "C2", ""), ("grant", "C3", "2026-04-02")]  # by customer
    text = (settings.exports / "access" / N1.isoformat() / "changes.csv").read_bytes()
    export_access_changes(settings, N1)  # a rerun of night 1 rewrites the same bytes
    assert (settings.exports / "access" / N1.isoformat() / "changes.csv").read_bytes() == text
    # night 2 is skipped; night 3 sees C1 renewed (a later end) and nothing else: one grant, nothing twice
    publish_access(settings, N3, [("C1", digital, date(2026, 1, 1), date(2028, 1, 1)), c3])
    result = export_access_changes(settings, N3)
    assert changes(N3) == [("grant", "C1", "2028-01-01")]
    assert (result.control["grants"], result.control["revocations"], result.control["entitled"]) == (1, 0, 2)
