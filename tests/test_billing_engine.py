"""Hand-computed cases for the billing engine (lifecycle/billing): cash application, collections, chains."""

from datetime import UTC, date, datetime
from decimal import Decimal

from lifecycle.billing import cash, terms
from lifecycle.keys import autocharge_request_key

D = date


def inv(invoice_id, day, total, due=None, customer="C1"):
    return cash.Invoice(invoice_id, customer, "USD", day, due or day, day, total)


def pay(payment_id, day, amount, target=None, status="settled", original=None, customer="C1", recorded=None):
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return cash.Payment(payment_id, customer, "USD", at, day, recorded or day, amount, status, target, original)


YEAR_END = date(2026, 12, 31)
FEB_10 = date(2026, 2, 10)


def run(invoices, payments, business_date=YEAR_END):
    return cash.apply_cash(invoices, payments, cash.Knobs(business_date=business_date))


def balances(result, invoices):
    out = {i.invoice_id: i.total_cents for i in invoices}
    for a in result.applications:
        out[a.invoice_id] -= a.amount_cents
    for c in result.collections:
        if c.kind == "write_off":
            out[c.invoice_id] -= c.balance_cents
    return out


def test_prepaid_order_is_paid_at_once_and_never_reminded():
    invoices = [inv("INV-1", D(2026, 1, 5), 2603)]
    r = run(invoices, [pay("P1", D(2026, 1, 5), 2603, target="INV-1")])
    assert [(a.invoice_id, a.amount_cents, a.kind) for a in r.applications] == [("INV-1", 2603, "payment")]
    assert balances(r, invoices) == {"INV-1": 0}
    assert r.collections == [] and r.credits == []


def test_invoiced_order_paid_late_in_two_parts_gets_every_reminder_until_paid():
    invoices = [inv("INV-1", D(2026, 1, 5), 5000, due=D(2026, 2, 4))]
    payments = [pay("P1", D(2026, 2, 20), 2000, target="INV-1"), pay("P2", D(2026, 3, 10), 3000, target="INV-1")]
    r = run(invoices, payments)
    reminders = [(c.effort_number, c.event_date, c.balance_cents) for c in r.collections if c.kind == "reminder"]
    # offsets 0, 21, 42, 63 days: the fourth (9 March) still sees the 30.00 left after the first payment
    assert reminders == [
        (1, D(2026, 1, 5), 5000),
        (2, D(2026, 1, 26), 5000),
        (3, D(2026, 2, 16), 5000),
        (4, D(2026, 3, 9), 3000),
    ]
    assert [c.kind for c in r.collections if c.kind != "reminder"] == []  # paid before 23 March: no suspension
    assert balances(r, invoices) == {"INV-1": 0}


def test_overpayment_becomes_credit_and_pays_the_next_invoice_on_its_date():
    invoices = [inv("INV-A", D(2026, 1, 1), 3000), inv("INV-B", D(2026, 2, 1), 2500)]
    r = run(invoices, [pay("P1", D(2026, 1, 2), 4000, target="INV-A")], business_date=D(2026, 2, 10))
    assert [(a.invoice_id, a.applied_date, a.amount_cents, a.kind) for a in r.applications] == [
        ("INV-A", D(2026, 1, 2), 3000, "payment"),
        ("INV-B", D(2026, 2, 1), 1000, "credit"),
    ]
    assert [(c.kind, c.amount_cents) for c in r.credits] == [("excess", 1000), ("applied", -1000)]
    assert balances(r, invoices) == {"INV-A": 0, "INV-B": 1500}


def test_a_payment_known_before_its_invoice_is_credit_until_the_invoice_is_known():
    """The invoice of 20 October (a renewal the pipeline makes) is known on 18 November; its payment, dated 20
    October, was known on 17 November (the migration load). The payment cannot pay what was not known: it is a
    credit, which the invoice takes on 18 November, the night it is known."""
    late = cash.Invoice("INV-R", "C1", "USD", D(2026, 10, 20), D(2026, 10, 20), D(2026, 11, 18), 5206)
    payment = pay("P-R", D(2026, 10, 20), 5206, target="INV-R", recorded=D(2026, 11, 17))
    r = run([late], [payment], business_date=D(2026, 11, 20))
    assert [(a.invoice_id, a.applied_date, a.known_date, a.amount_cents, a.kind) for a in r.applications] == [
        ("INV-R", D(2026, 11, 18), D(2026, 11, 18), 5206, "credit")]
    assert [(c.movement_date, c.kind, c.amount_cents) for c in r.credits] == [
        (D(2026, 10, 20), "excess", 5206), (D(2026, 11, 18), "applied", -5206)]
    # the night before the invoice is known, the money is the customer's credit
    before = run([late], [payment], business_date=D(2026, 11, 17))
    assert before.applications == [] and [c.kind for c in before.credits] == ["excess"]
    # known the same night as its payment, it is paid on the payment's date, as always
    on_time = cash.Invoice("INV-R", "C1", "USD", D(2026, 10, 20), D(2026, 10, 20), D(2026, 11, 17), 5206)
    assert [(a.applied_date, a.kind) for a in run([on_time], [payment]).applications] == [
        (D(2026, 10, 20), "payment")]


def test_payment_without_reference_pays_the_oldest_due_invoice_first():
    invoices = [inv("INV-A", D(2026, 1, 1), 2000, due=D(2026, 1, 31)), inv("INV-B", D(2026, 1, 10), 1500)]
    r = run(invoices, [pay("P1", D(2026, 1, 15), 2000)], business_date=D(2026, 1, 20))
    assert [(a.invoice_id, a.amount_cents) for a in r.applications] == [("INV-B", 1500), ("INV-A", 500)]
    assert balances(r, invoices) == {"INV-A": 1500, "INV-B": 0}


def test_payment_in_another_currency_never_pays_a_usd_invoice():
    invoices = [inv("INV-A", D(2026, 1, 1), 2000)]
    eur = cash.Payment(
        "P1", "C1", "EUR", datetime(2026, 1, 2, tzinfo=UTC), D(2026, 1, 2), D(2026, 1, 2), 2000, "settled", None, None
    )
    r = run(invoices, [eur], business_date=D(2026, 1, 3))
    assert r.applications == []
    assert [(c.currency, c.amount_cents) for c in r.credits] == [("EUR", 2000)]


def test_chargeback_reopens_the_invoice_it_paid():
    invoices = [inv("INV-1", D(2026, 1, 1), 5000)]
    payments = [
        pay("P1", D(2026, 1, 1), 5000, target="INV-1"),
        pay("P2", D(2026, 1, 20), 5000, status="chargeback", original="P1"),
    ]
    r = run(invoices, payments, business_date=D(2026, 1, 25))
    assert [(a.payment_id, a.amount_cents, a.kind, a.applied_date) for a in r.applications] == [
        ("P1", 5000, "payment", D(2026, 1, 1)),
        ("P1", -5000, "chargeback", D(2026, 1, 20)),
    ]
    assert balances(r, invoices) == {"INV-1": 5000}
    # reopened on the 20th: the reminder due on the 22nd (offset 21) goes out
    assert [(c.effort_number, c.event_date) for c in r.collections] == [(2, D(2026, 1, 22))]


def test_failed_payment_changes_nothing_and_refund_takes_back_unused_credit():
    invoices = [inv("INV-1", D(2026, 1, 1), 1000)]
    payments = [
        pay("P0", D(2026, 1, 1), 1000, status="failed"),
        pay("P1", D(2026, 1, 1), 1500, target="INV-1"),
        pay("P2", D(2026, 1, 5), 500, status="refunded", original="P1"),
    ]
    r = run(invoices, payments, business_date=D(2026, 1, 10))
    assert [(a.payment_id, a.amount_cents) for a in r.applications] == [("P1", 1000)]
    assert [(c.kind, c.amount_cents) for c in r.credits] == [("excess", 500), ("refund", -500)]


def test_unpaid_invoice_gets_four_reminders_then_suspension_then_write_off():
    invoices = [inv("INV-1", D(2026, 1, 1), 8000, due=D(2026, 1, 31))]
    r = run(invoices, [], business_date=D(2026, 6, 1))
    assert [(c.kind, c.event_date, c.effort_number, c.balance_cents) for c in r.collections] == [
        ("reminder", D(2026, 1, 1), 1, 8000),
        ("reminder", D(2026, 1, 22), 2, 8000),
        ("reminder", D(2026, 2, 12), 3, 8000),
        ("reminder", D(2026, 3, 5), 4, 8000),
        ("suspension", D(2026, 3, 19), None, 8000),  # last reminder + 14 days
        ("write_off", D(2026, 5, 18), None, 8000),  # suspension + 60 days
    ]
    assert balances(r, invoices) == {"INV-1": 0}


def test_payment_while_suspended_reinstates_and_prevents_the_write_off():
    invoices = [inv("INV-1", D(2026, 1, 1), 8000)]
    r = run(invoices, [pay("P1", D(2026, 4, 1), 8000, target="INV-1")], business_date=D(2026, 6, 1))
    kinds = [(c.kind, c.event_date) for c in r.collections if c.kind != "reminder"]
    assert kinds == [("suspension", D(2026, 3, 19)), ("reinstatement", D(2026, 4, 1))]


def test_customer_cancellation_credits_the_unserved_value_and_the_served_part_stays_owed():
    # 401.50 invoiced net 30 on 1 Jan, 200.00 paid on 20 Jan; cancelled with S = 10 April: the unserved value
    # with its tax (292.60) is more than the 201.50 open, so the credit note takes all of it; no more reminders
    invoices = [inv("INV-1", D(2026, 1, 1), 40150, due=D(2026, 1, 31))]
    payments = [pay("P1", D(2026, 1, 20), 20000, target="INV-1")]
    stop = cash.Cancellation("INV-1", D(2026, 4, 10), "prorated", 29260)
    r = cash.apply_cash(invoices, payments, cash.Knobs(business_date=YEAR_END), [stop])
    events = [(c.kind, c.event_date, c.balance_cents) for c in r.collections if c.kind != "reminder"]
    assert events[-2:] == [("cancellation", D(2026, 4, 10), 20150), ("credit_note", D(2026, 4, 10), 20150)]
    assert [c.kind for c in r.collections if c.event_date > D(2026, 4, 10)] == []


def test_prorated_credit_note_leaves_the_served_part_to_collect():
    # nothing paid: 160.00 of 401.50 unserved (with tax) is credited; 241.50 stays owed and is later written off
    invoices = [inv("INV-1", D(2026, 1, 1), 40150)]
    stop = cash.Cancellation("INV-1", D(2026, 2, 1), "prorated", 16000)
    r = cash.apply_cash(invoices, [], cash.Knobs(business_date=YEAR_END), [stop])
    assert [(c.kind, c.balance_cents) for c in r.collections if c.kind in ("credit_note", "write_off")] == [
        ("credit_note", 16000),
        ("write_off", 24150),
    ]
    assert [c.balance_cents for c in r.collections if c.kind == "reminder"][-1] == 24150


def test_cancellation_outside_the_refund_windows_credits_nothing_and_full_refund_credits_everything_open():
    invoices = [inv("INV-1", D(2026, 1, 1), 10000), inv("INV-2", D(2026, 1, 1), 10000, customer="C2")]
    payments = [pay("P1", D(2026, 1, 1), 4000, target="INV-2", customer="C2")]
    stops = [
        cash.Cancellation("INV-1", D(2026, 1, 3), "no_refund", 9000),
        cash.Cancellation("INV-2", D(2026, 1, 3), "full_refund", 9000),
    ]
    r = cash.apply_cash(invoices, payments, cash.Knobs(business_date=D(2026, 1, 31)), stops)
    credits = {c.invoice_id: c.balance_cents for c in r.collections if c.kind == "credit_note"}
    assert credits == {"INV-2": 6000}


def test_a_late_recorded_check_does_not_unsend_a_reminder():
    # paid on 20 January, recorded on 25 January: the reminder of the 22nd had gone out
    invoices = [inv("INV-1", D(2026, 1, 1), 3000)]
    r = run(
        invoices,
        [pay("P1", D(2026, 1, 20), 3000, target="INV-1", recorded=D(2026, 1, 25))],
        business_date=D(2026, 2, 28),
    )
    assert [(c.effort_number, c.event_date) for c in r.collections] == [(1, D(2026, 1, 1)), (2, D(2026, 1, 22))]


# --- subscription chains ---------------------------------------------------------------------------


def offer(offer_id, unit, length, price, renews_to, schedule=None):
    return terms.OfferVersion(offer_id, D(2020, 1, 1), None, unit, length, price, renews_to, schedule, 1)


ISSUES = [("MAG", f"I-{m:02d}", D(2026, m, 10)) for m in range(1, 13)]
CAT = terms.Catalogue(
    [
        offer("DIGM", "months", 1, 999, "DIGM"),
        offer("DIG12", "months", 12, 7900, "DIG12"),
        offer("PRT3", "issues", 3, 1500, "PRT3", schedule="MAG"),
    ],
    ISSUES,
)


def order(order_id, day, offer_id, order_type="new", token="tok_1", autorenew=True, recorded=None, start=None):
    return terms.Order(
        order_id,
        "C1",
        "S1",
        order_type,
        offer_id,
        datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
        day,
        recorded or day,
        start or day,
        1,
        Decimal("0.0625"),
        "USD",
        autorenew,
        token,
    )


def answer(attempt, term, day, status, key_sub="S1"):
    return terms.Answer(
        f"A{term}-{attempt}",
        "C1",
        datetime(day.year, day.month, day.day, 6, tzinfo=UTC),
        day,
        day,
        status,
        autocharge_request_key(key_sub, term, attempt),
    )


def chains(orders, answers=(), cancels=(), business_date=FEB_10, cutover=None):
    return terms.build_chains(orders, answers, cancels, CAT, terms.Knobs(business_date, cutover))


def test_autocharge_that_fails_twice_then_succeeds_renews_from_the_previous_end():
    out = chains(
        [order("O1", D(2026, 1, 1), "DIGM")],
        [
            answer(1, 1, D(2026, 1, 27), "failed"),
            answer(2, 1, D(2026, 1, 30), "failed"),
            answer(3, 1, D(2026, 2, 3), "settled"),
        ],
    )
    # attempt 1 at end (1 Feb) − 5 days; retries at +3 and +7 days
    assert [(r.attempt, r.request_date, r.amount_cents, r.answer_status) for r in out.requests] == [
        (1, D(2026, 1, 27), 1061, "failed"),  # 9.99 + 6.25 % tax (0.62)
        (2, D(2026, 1, 30), 1061, "failed"),
        (3, D(2026, 2, 3), 1061, "settled"),
    ]
    assert len({r.request_key for r in out.requests}) == 3
    t1, t2 = out.terms
    assert (t1.start_date, t1.end_date, t1.autocharge_outcome) == (D(2026, 1, 1), D(2026, 2, 1), "renewed")
    assert (t2.order_id, t2.source, t2.term_number) == ("AUTO-S1-2", "autocharge", 2)
    assert (t2.start_date, t2.end_date, t2.ordered_date, t2.unit_price_cents) == (
        D(2026, 2, 1),
        D(2026, 3, 1),
        D(2026, 2, 3),
        999,
    )
    assert t2.settling_payment_id == "A1-3"
    assert t2.autocharge_outcome == "pending"  # its own attempt 1 is due on 24 February, after tonight
    # one "we will charge your card" notice, 7 days before attempt 1; term 2's is due on 17 February
    assert [(n.term_number, n.due_date, n.charge_date, n.amount_cents, n.request_key) for n in out.notices] == [
        (1, D(2026, 1, 20), D(2026, 1, 27), 1061, autocharge_request_key("S1", 1, 1))
    ]


def test_a_legacy_answer_paid_before_the_pipelines_request_renews_when_the_request_is_made():
    """The migration load holds the legacy's charge of 20 January, recorded on the cut-over night (28 January);
    the pipeline's attempt 1 is due on 27 January and its retry on 30 January. The renewal is known on the night
    the answered request is made, never earlier: an order known on a later night cannot take an invoice number
    before the ones already issued."""
    cutover = D(2026, 1, 28)
    legacy = terms.Answer("L-2", "C1", datetime(2026, 1, 20, 6, tzinfo=UTC), D(2026, 1, 20), cutover, "settled",
                          autocharge_request_key("S1", 1, 2))
    failed = terms.Answer("L-1", "C1", datetime(2026, 1, 17, 6, tzinfo=UTC), D(2026, 1, 17), cutover, "failed",
                          autocharge_request_key("S1", 1, 1))
    orders = [order("O1", D(2026, 1, 1), "DIGM", recorded=cutover)]
    on_cutover = chains(orders, [failed, legacy], business_date=cutover, cutover=cutover)
    assert [(r.attempt, r.request_date, r.answer_status) for r in on_cutover.requests] == [
        (1, D(2026, 1, 27), "failed")]
    assert len(on_cutover.terms) == 1  # the retry is due on 30 January: not renewed yet
    later = chains(orders, [failed, legacy], business_date=D(2026, 1, 30), cutover=cutover)
    assert [(r.attempt, r.request_date, r.answer_status) for r in later.requests] == [
        (1, D(2026, 1, 27), "failed"), (2, D(2026, 1, 30), "settled")]
    renewal = later.terms[1]
    assert (renewal.order_id, renewal.ordered_date, renewal.recorded_date, renewal.settling_payment_id) == (
        "AUTO-S1-2", D(2026, 1, 20), D(2026, 1, 30), "L-2")


def test_autorenew_chain_steps_from_the_intro_price_to_full_price_across_three_renewals():
    # $1 intro → $39 → $79 → $79: each renewal is priced from the previous term's renewal offer
    catalogue = terms.Catalogue(
        [
            offer("INTRO", "months", 1, 100, "STEP39"),
            offer("STEP39", "months", 1, 3900, "FULL79"),
            offer("FULL79", "months", 1, 7900, "FULL79"),
        ],
        ISSUES,
    )
    settled = [answer(1, 1, D(2026, 1, 27), "settled"), answer(1, 2, D(2026, 2, 24), "settled"),
               answer(1, 3, D(2026, 3, 27), "settled")]
    out = terms.build_chains([order("O1", D(2026, 1, 1), "INTRO")], settled, [], catalogue,
                             terms.Knobs(D(2026, 4, 10), None))
    # tax 6.25 %: 39.00 + 2.44 = 41.44; 79.00 + 4.94 = 83.94
    assert [(r.term_number, r.renewal_offer_id, r.amount_cents) for r in out.requests] == [
        (1, "STEP39", 4144), (2, "FULL79", 8394), (3, "FULL79", 8394)]
    assert [(t.term_number, t.offer_id, t.unit_price_cents, t.start_date) for t in out.terms] == [
        (1, "INTRO", None, D(2026, 1, 1)),  # a feed term: its price is on its order
        (2, "STEP39", 3900, D(2026, 2, 1)),
        (3, "FULL79", 7900, D(2026, 3, 1)),
        (4, "FULL79", 7900, D(2026, 4, 1)),
    ]


def test_autocharge_that_fails_every_retry_falls_into_the_notice_flow():
    out = chains(
        [order("O1", D(2026, 1, 1), "DIGM")],
        [answer(a, 1, d, "failed") for a, d in ((1, D(2026, 1, 27)), (2, D(2026, 1, 30)), (3, D(2026, 2, 3)))],
    )
    assert len(out.requests) == 3
    assert [t.term_number for t in out.terms] == [1]
    assert out.terms[0].autocharge_outcome == "failed"


def test_retry_waits_until_the_failure_is_recorded():
    late = terms.Answer(
        "A1",
        "C1",
        datetime(2026, 1, 27, 6, tzinfo=UTC),
        D(2026, 1, 27),
        D(2026, 2, 2),
        "failed",
        autocharge_request_key("S1", 1, 1),
    )
    out = chains([order("O1", D(2026, 1, 1), "DIGM")], [late])
    assert [(r.attempt, r.request_date) for r in out.requests] == [(1, D(2026, 1, 27)), (2, D(2026, 2, 2))]


def test_no_autocharge_request_for_a_cancelled_term():
    cancel = terms.Cancellation("S1", D(2026, 1, 20), D(2026, 1, 20))
    out = chains([order("O1", D(2026, 1, 1), "DIGM")], cancels=[cancel])
    assert out.requests == [] and out.terms[0].autocharge_outcome == "not_requested"
    assert out.notices == []  # cancelled (recorded 20 Jan) by the notice day, 20 Jan


def test_autorenew_without_a_stored_method_is_billed_at_end_minus_lead_days():
    # DIG12 from 1 Jan 2026 ends 1 Jan 2027: the pipeline bills the renewal on 27 Dec 2026
    out = terms.build_chains(
        [order("O1", D(2026, 1, 1), "DIG12", token=None)],
        [],
        [],
        CAT,
        terms.Knobs(D(2027, 1, 10), None, business_timezone="America/New_York"),
    )
    assert out.requests == []
    t1, t2 = out.terms
    assert (t2.order_id, t2.source, t2.term_number) == ("AUTO-S1-2", "autobill", 2)
    assert (t2.ordered_date, t2.recorded_date, t2.start_date, t2.end_date) == (
        D(2026, 12, 27),
        D(2026, 12, 27),
        D(2027, 1, 1),
        D(2028, 1, 1),
    )
    # midnight in New York, so the order's business date is the bill day
    assert t2.ordered_at == datetime(2026, 12, 27, 5, tzinfo=UTC)
    assert (t2.unit_price_cents, t2.settling_payment_id) == (7900, None)


def test_no_autobill_before_its_day_or_for_a_cancelled_term():
    before = terms.build_chains(
        [order("O1", D(2026, 1, 1), "DIG12", token=None)], [], [], CAT, terms.Knobs(D(2026, 12, 26), None)
    )
    assert [t.term_number for t in before.terms] == [1]
    cancel = terms.Cancellation("S1", D(2026, 12, 1), D(2026, 12, 20))
    cancelled = terms.build_chains(
        [order("O1", D(2026, 1, 1), "DIG12", token=None)], [], [cancel], CAT, terms.Knobs(D(2027, 1, 10), None)
    )
    assert [t.term_number for t in cancelled.terms] == [1]


def test_month_terms_count_from_the_anchor_and_clamp_to_the_month_end():
    orders = [order("O1", D(2024, 1, 31), "DIGM", token=None, autorenew=False)] + [
        order(f"O{i}", D(2024, i, 15), "DIGM", order_type="renewal", token=None, autorenew=False) for i in (2, 3, 4)
    ]
    out = chains(orders, business_date=D(2024, 6, 1))
    assert [(t.start_date, t.end_date) for t in out.terms] == [
        (D(2024, 1, 31), D(2024, 2, 29)),
        (D(2024, 2, 29), D(2024, 3, 31)),
        (D(2024, 3, 31), D(2024, 4, 30)),
        (D(2024, 4, 30), D(2024, 5, 31)),
    ]
    leap = chains([order("O1", D(2024, 2, 29), "DIG12", token=None)], business_date=D(2024, 3, 1))
    assert leap.terms[0].end_date == D(2025, 2, 28)


def test_issue_terms_skip_issues_shipped_before_the_term_was_recorded():
    # renewal of a 3-issue term recorded late, on 12 April: April's issue (10 April) is skipped
    orders = [
        order("O1", D(2026, 1, 1), "PRT3", token=None, autorenew=False),
        order("O2", D(2026, 4, 12), "PRT3", order_type="renewal", token=None, autorenew=False),
    ]
    out = chains(orders, business_date=D(2026, 5, 1))
    t1, t2 = out.terms
    assert (t1.issue_ids, t1.end_date) == (["I-01", "I-02", "I-03"], D(2026, 4, 10))
    assert (t2.start_date, t2.issue_ids, t2.end_date) == (D(2026, 4, 10), ["I-05", "I-06", "I-07"], D(2026, 8, 10))


def test_migrated_issue_terms_keep_issues_shipped_before_the_cutover():
    migrated = order("O1", D(2026, 1, 1), "PRT3", token=None, autorenew=False, recorded=D(2026, 3, 1))
    out = chains([migrated], business_date=D(2026, 3, 1), cutover=D(2026, 3, 1))
    assert out.terms[0].issue_ids == ["I-01", "I-02", "I-03"]


def test_a_vacation_hold_of_two_issues_extends_the_term():
    # 3 issues from 1 January: January, then February and March fall in the hold, so April and May
    hold = terms.Hold("S1", D(2026, 2, 1), D(2026, 4, 1), known_date=D(2026, 1, 15))
    out = terms.build_chains([order("O1", D(2026, 1, 1), "PRT3", autorenew=False)], [], [], CAT,
                             terms.Knobs(D(2026, 6, 30), None), holds=[hold])
    (t1,) = out.terms
    assert t1.issue_ids == ["I-01", "I-04", "I-05"]
    assert t1.end_date == D(2026, 6, 10)  # the issue after the last one
    # a hold recorded after an issue shipped does not un-ship it
    late = terms.Hold("S1", D(2026, 1, 1), D(2026, 2, 1), known_date=D(2026, 1, 20))
    out = terms.build_chains([order("O1", D(2026, 1, 1), "PRT3", autorenew=False)], [], [], CAT,
                             terms.Knobs(D(2026, 6, 30), None), holds=[late])
    assert out.terms[0].issue_ids == ["I-01", "I-02", "I-03"]


def test_a_hold_known_after_the_term_began_records_the_ends_the_term_had():
    """Revenue spread over the term's days keeps what it earned before a hold moved the end: the chain walk
    records each end and the night it became known (the 'window' records)."""
    def walk(*holds):
        out = terms.build_chains([order("O1", D(2026, 1, 1), "PRT3", autorenew=False)], [], [], CAT,
                                 terms.Knobs(D(2026, 6, 30), None), holds=list(holds))
        return out.terms[0]

    # known on 15 January, after the term began: February and March held, the end moves from 10 April to 10 June
    feb_mar = terms.Hold("S1", D(2026, 2, 1), D(2026, 4, 1), known_date=D(2026, 1, 15))
    assert walk(feb_mar).end_revisions == [(D(2026, 1, 1), D(2026, 4, 10)), (D(2026, 1, 15), D(2026, 6, 10))]
    # a second hold known on 20 April (May held) moves it again, to 10 July
    may = terms.Hold("S1", D(2026, 5, 1), D(2026, 6, 1), known_date=D(2026, 4, 20))
    term = walk(feb_mar, may)
    assert term.issue_ids == ["I-01", "I-04", "I-06"]
    assert term.end_revisions == [
        (D(2026, 1, 1), D(2026, 4, 10)), (D(2026, 1, 15), D(2026, 6, 10)), (D(2026, 4, 20), D(2026, 7, 10)),
    ]
    assert term.end_date == D(2026, 7, 10)
    # known by the term's first day: the term began with that end, nothing moved
    early = terms.Hold("S1", D(2026, 2, 1), D(2026, 4, 1), known_date=D(2026, 1, 1))
    assert (walk(early).end_date, walk(early).end_revisions) == (D(2026, 6, 10), [])
    # a hold that moves nothing (its issue had shipped) records nothing
    late = terms.Hold("S1", D(2026, 1, 1), D(2026, 2, 1), known_date=D(2026, 1, 20))
    assert walk(late).end_revisions == []


def test_a_graced_issue_is_the_first_of_the_renewal_and_the_rest_follow():
    # term 1: January to March, ends 10 April. The renewal is ordered on 20 May: April's issue went out as
    # a graced copy (renewal_grace_issues = 1) and counts as the renewal's first; May's was not graced
    # (one grace issue only) and is skipped; the renewal then takes June and July: 2 more
    orders = [
        order("O1", D(2026, 1, 1), "PRT3", autorenew=False),
        order("O2", D(2026, 5, 20), "PRT3", order_type="renewal", autorenew=False),
    ]
    out = terms.build_chains(orders, [], [], CAT, terms.Knobs(D(2026, 8, 31), None, renewal_grace_issues=1))
    t1, t2 = out.terms
    assert (t1.issue_ids, t1.end_date) == (["I-01", "I-02", "I-03"], D(2026, 4, 10))
    assert (t2.start_date, t2.issue_ids, t2.end_date) == (D(2026, 4, 10), ["I-04", "I-06", "I-07"], D(2026, 8, 10))
    # without gracing, the renewal recorded late starts with the next issue after its recording
    out = terms.build_chains(orders, [], [], CAT, terms.Knobs(D(2026, 8, 31), None))
    assert out.terms[1].issue_ids == ["I-06", "I-07", "I-08"]


def test_a_goodwill_credit_pays_the_open_invoice_then_the_next_one_like_an_overpayment():
    # 15.00 of goodwill on 10 Feb: INV-A still owes 10.00 of 30.00 (20.00 paid), so 10.00 pays it at once and
    # the remaining 5.00 waits for INV-B (25.00) on 1 Mar, which then owes 20.00. A refund of P1 cannot touch it.
    invoices = [inv("INV-A", D(2026, 1, 1), 3000), inv("INV-B", D(2026, 3, 1), 2500)]
    goodwill = cash.GoodwillCredit("SA-1", "C1", "USD", datetime(2026, 2, 10, 15, tzinfo=UTC), D(2026, 2, 10),
                                   D(2026, 2, 10), 1500)
    r = cash.apply_cash(invoices, [pay("P1", D(2026, 1, 5), 2000, target="INV-A")],
                        cash.Knobs(business_date=D(2026, 3, 5)), goodwill=[goodwill])
    assert [(a.payment_id, a.invoice_id, a.applied_date, a.amount_cents, a.kind) for a in r.applications] == [
        ("P1", "INV-A", D(2026, 1, 5), 2000, "payment"),
        ("SA-1", "INV-A", D(2026, 2, 10), 1000, "credit"),
        ("SA-1", "INV-B", D(2026, 3, 1), 500, "credit"),
    ]
    assert [(c.payment_id, c.kind, c.movement_date, c.amount_cents, c.invoice_id) for c in r.credits] == [
        ("SA-1", "goodwill", D(2026, 2, 10), 1500, None),
        ("SA-1", "applied", D(2026, 2, 10), -1000, "INV-A"),
        ("SA-1", "applied", D(2026, 3, 1), -500, "INV-B"),
    ]
    assert balances(r, invoices) == {"INV-A": 0, "INV-B": 2000}
    # INV-A: efforts 1 (1 Jan, 30.00 open) and 2 (22 Jan, 10.00 open); none on 12 Feb, as the credit paid it on
    # the 10th. INV-B: effort 1 for the 20.00 the credit left.
    assert [(c.invoice_id, c.effort_number, c.event_date, c.balance_cents) for c in r.collections] == [
        ("INV-A", 1, D(2026, 1, 1), 3000), ("INV-A", 2, D(2026, 1, 22), 1000), ("INV-B", 1, D(2026, 3, 1), 2000)]
