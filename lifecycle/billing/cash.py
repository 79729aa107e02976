"""Cash application and collections, per customer and currency, in date order (docs/computations.md,
"Cash application").

* A settled payment that names an invoice (directly, through its order, or as the answer to an
  autocharge request) pays it; what is left, or a payment naming nothing, pays the customer's open
  invoices in the same currency oldest first (due date, then number); any excess becomes a credit.
* Credits pay invoices as soon as both exist: a new invoice takes the customer's credits (oldest
  first) on its own date.
* A failed payment changes nothing. A chargeback takes back its payment's unused credit, then
  reverses its applications (latest first), reopening what it paid. A refund takes back unused credit
  of the payment it names ("refund of credit"); the rest of it is a cancellation refund, which never
  changes applications (it goes through refunds payable).
* A term cancelled by its customer (``Cancellation``) gets, at its service end S, the credit note its
  credit policy allows against the balance then open: all of it inside the full-refund window, the
  unserved value with its tax (at most the balance) until the no-refund cut-off, nothing after. What
  was paid by S decides the refund (the ``cancellation`` record keeps the balance open at S).
* A goodwill credit (a service action) is customer credit from the day it is granted: it pays the
  customer's open invoices in its currency at once, oldest first, and later invoices as they come,
  exactly like an overpayment's excess. Its applications and movements carry the action's id.
* Collections: reminder k is due at invoice date + offset_k while a balance remains; after the last
  one + ``suspension_days`` the invoice's term is suspended for nonpayment (a payment reinstates it);
  ``cancel_days`` later, if a balance still remains, it is written off.

Balances that decide reminders, suspension and write-off are the balances *known* that night: an
application counts from the later of its payment's and its invoice's recorded dates, so a check
posted late does not un-send a reminder that went out.

Money only pays what was known when it was: a payment pays the invoices known by its own recorded date,
and credits pay an invoice from the night it is known. A payment that arrives before the invoice it is for
(a legacy charge answering a renewal the pipeline makes later, an order recorded after its payment) is a
credit until the invoice is known, which then takes it like any credit. So no entry of the ledger depends on
something learnt after it was known, and a closed period never needs an invoice it could not have seen.

Same-day order: invoices first, then money in time order, then the collection checks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Invoice:
    invoice_id: str
    customer_id: str
    currency: str
    invoice_date: date
    due_date: date
    recorded_date: date
    total_cents: int


@dataclass(frozen=True)
class Payment:
    payment_id: str
    customer_id: str
    currency: str
    paid_at: datetime
    paid_date: date
    recorded_date: date
    amount_cents: int
    status: str  # settled, failed, refunded, chargeback
    target_invoice_id: str | None = None
    original_payment_id: str | None = None


@dataclass(frozen=True)
class Cancellation:
    """A customer's cancellation of the term an invoice bills, as its credit policy judges it."""

    invoice_id: str
    stop_date: date  # S, the service end
    window: str  # full_refund, prorated or no_refund
    unserved_cents: int  # the unserved value at S with its tax


@dataclass(frozen=True)
class GoodwillCredit:
    """A goodwill credit put on the customer's credit by customer service (a service action)."""

    credit_id: str  # the service action id
    customer_id: str
    currency: str
    granted_at: datetime
    granted_date: date
    recorded_date: date
    amount_cents: int


@dataclass(frozen=True)
class Knobs:
    business_date: date
    effort_offsets: tuple[int, ...] = (0, 21, 42, 63)
    suspension_days: int = 14
    cancel_days: int = 60


@dataclass
class Application:
    payment_id: str
    invoice_id: str
    customer_id: str
    currency: str
    applied_date: date
    known_date: date
    amount_cents: int  # negative when a chargeback reverses it
    kind: str  # payment, credit, chargeback


@dataclass
class CreditMovement:
    payment_id: str
    customer_id: str
    currency: str
    movement_date: date
    amount_cents: int  # + credit created, - credit used or taken back
    kind: str  # excess, goodwill, applied, chargeback, refund
    invoice_id: str | None = None


@dataclass
class Collection:
    invoice_id: str
    kind: str  # reminder, suspension, reinstatement, write_off, cancellation, credit_note
    event_date: date
    effort_number: int | None
    # the known balance that night; the amount written off or credited, for write-offs and credit notes;
    # the balance open at S, for a cancellation
    balance_cents: int


@dataclass
class Result:
    applications: list[Application] = field(default_factory=list)
    credits: list[CreditMovement] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)
    #: each group walked, in order, with how many applications, credit movements and collection events it added
    groups: list[tuple[tuple[str, str], int, int, int]] = field(default_factory=list)
    #: each group's first event after the business date (none: nothing of it is still to come). Until that date
    #: a night walking the same inputs gives the group the same records.
    next_events: dict[tuple[str, str], date] = field(default_factory=dict)


@dataclass
class _Open:
    invoice: Invoice
    balance: int
    known: list[tuple[date, int]] = field(default_factory=list)  # (known date, amount) applied so far
    written_off: bool = False
    suspended: bool = False
    known_total: int = 0  # the sum of ``known``
    known_by: date = date.min  # the latest known date in ``known``

    def learn(self, known: date, amount: int) -> None:
        self.known.append((known, amount))
        self.known_total += amount
        self.known_by = max(self.known_by, known)

    def known_balance(self, night: date) -> int:
        if night >= self.known_by:  # everything applied is known that night (most checks: the invoice is paid)
            return self.invoice.total_cents - self.known_total
        return self.invoice.total_cents - sum(a for d, a in self.known if d <= night)


@dataclass
class _Lot:
    payment: Payment
    remaining: int


# same-day ordering of events
_INVOICE, _MONEY, _CHECK = 0, 1, 2


def apply_cash(
    invoices: Iterable[Invoice],
    payments: Iterable[Payment],
    knobs: Knobs,
    cancellations: Iterable[Cancellation] = (),
    goodwill: Iterable[GoodwillCredit] = (),
) -> Result:
    """Applications, credit movements and collection events as of ``knobs.business_date``."""
    groups: dict[tuple[str, str], tuple[list[Invoice], list[Payment]]] = defaultdict(lambda: ([], []))
    group_of: dict[str, tuple[str, str]] = {}
    for inv in invoices:
        groups[(inv.customer_id, inv.currency)][0].append(inv)
        group_of[inv.invoice_id] = (inv.customer_id, inv.currency)
    for p in payments:
        groups[(p.customer_id, p.currency)][1].append(p)
    for g in goodwill:
        # a goodwill credit enters the engine as a settled-like payment of kind "goodwill"
        groups[(g.customer_id, g.currency)][1].append(
            Payment(g.credit_id, g.customer_id, g.currency, g.granted_at, g.granted_date, g.recorded_date,
                    g.amount_cents, "goodwill")
        )
    cancelled: dict[tuple[str, str], list[Cancellation]] = defaultdict(list)
    for c in cancellations:
        if c.invoice_id in group_of:
            cancelled[group_of[c.invoice_id]].append(c)
    result = Result()
    for key in sorted(groups):
        invs, pays = groups[key]
        before = (len(result.applications), len(result.credits), len(result.collections))
        next_event = _Group(invs, pays, knobs, result, cancelled.get(key, [])).run()
        result.groups.append((key, len(result.applications) - before[0], len(result.credits) - before[1],
                              len(result.collections) - before[2]))
        if next_event is not None:
            result.next_events[key] = next_event
    return result


class _Group:
    def __init__(
        self,
        invoices: list[Invoice],
        payments: list[Payment],
        knobs: Knobs,
        out: Result,
        cancellations: list[Cancellation],
    ):
        self.knobs, self.out = knobs, out
        self.invoices = invoices
        self.payments = payments
        self.cancellations = cancellations
        self.state: dict[str, _Open] = {}
        self.lots: list[_Lot] = []
        self.by_payment: dict[str, Payment] = {p.payment_id: p for p in payments}
        self.applied: dict[str, list[Application]] = defaultdict(list)  # payment id -> its applications

    def run(self) -> date | None:
        """Walk the group's events up to the business date; returns the date of the first one after it."""
        events: list[tuple] = []
        offsets = self.knobs.effort_offsets
        reminders = [(k, timedelta(days=offset)) for k, offset in enumerate(offsets, start=1)]
        to_suspension = timedelta(days=(offsets[-1] if offsets else 0) + self.knobs.suspension_days)
        to_write_off = to_suspension + timedelta(days=self.knobs.cancel_days)
        for inv in self.invoices:
            events.append((inv.invoice_date, _INVOICE, inv.due_date, inv.invoice_id, "invoice", inv))
            if inv.recorded_date > inv.invoice_date:  # known later: from then on it takes credits
                events.append((inv.recorded_date, _INVOICE, inv.due_date, inv.invoice_id, "invoice_known", inv))
            for k, delta in reminders:
                events.append((inv.invoice_date + delta, _CHECK, 0, inv.invoice_id, "reminder", (inv, k)))
            events.append((inv.invoice_date + to_suspension, _CHECK, 1, inv.invoice_id, "suspension", (inv, None)))
            events.append((inv.invoice_date + to_write_off, _CHECK, 2, inv.invoice_id, "write_off", (inv, None)))
        for p in self.payments:
            events.append((p.paid_date, _MONEY, p.paid_at, p.payment_id, "money", p))
        for c in self.cancellations:
            # before that night's collection checks: a credited balance gets no reminder
            events.append((c.stop_date, _CHECK, -1, c.invoice_id, "cancellation", c))
        events.sort(key=lambda e: e[:4])
        for when, _, _, _, kind, item in events:
            if when > self.knobs.business_date:
                return when
            if kind == "invoice":
                self._invoice(item)
            elif kind == "invoice_known":
                self._use_credits(when)
            elif kind == "money":
                self._money(item)
            elif kind == "cancellation":
                self._cancel(item)
            else:
                self._check(when, kind, *item)
        return None

    # --- events --------------------------------------------------------------------------
    def _invoice(self, inv: Invoice) -> None:
        self.state[inv.invoice_id] = _Open(inv, inv.total_cents)
        self._use_credits(inv.invoice_date)

    def _money(self, p: Payment) -> None:
        if p.status == "settled":
            self._settle(p)
        elif p.status == "chargeback":
            self._chargeback(p)
        elif p.status == "refunded":
            self._refund(p)
        elif p.status == "goodwill":
            self._goodwill(p)
        # failed: nothing

    def _check(self, night: date, kind: str, inv: Invoice, effort: int | None) -> None:
        st = self.state[inv.invoice_id]
        if st.written_off:
            return
        known = st.known_balance(night)
        if known <= 0:
            return
        if kind == "reminder":
            self.out.collections.append(Collection(inv.invoice_id, "reminder", night, effort, known))
        elif kind == "suspension":
            st.suspended = True
            self.out.collections.append(Collection(inv.invoice_id, "suspension", night, None, known))
        elif kind == "write_off" and st.suspended:
            amount = st.balance
            st.balance, st.written_off = 0, True
            if amount > 0:
                self.out.collections.append(Collection(inv.invoice_id, "write_off", night, None, amount))

    def _cancel(self, c: Cancellation) -> None:
        st = self.state.get(c.invoice_id)
        if st is None or st.written_off:
            return
        open_at_stop = max(st.balance, 0)
        self.out.collections.append(Collection(c.invoice_id, "cancellation", c.stop_date, None, open_at_stop))
        if c.window == "full_refund":
            credit = open_at_stop
        elif c.window == "prorated":
            credit = min(c.unserved_cents, open_at_stop)
        else:
            credit = 0
        if credit > 0:
            st.balance -= credit
            st.learn(c.stop_date, credit)
            self.out.collections.append(Collection(c.invoice_id, "credit_note", c.stop_date, None, credit))

    # --- money ---------------------------------------------------------------------------
    def _open_invoices(self, known_by: date) -> list[_Open]:
        """The invoices with a balance open that were known by ``known_by``, oldest due first."""
        opened = [s for s in self.state.values()
                  if s.balance > 0 and not s.written_off and s.invoice.recorded_date <= known_by]
        return sorted(opened, key=lambda s: (s.invoice.due_date, s.invoice.invoice_id))

    def _apply(self, p: Payment, st: _Open, amount: int, when: date, kind: str, recorded: date | None = None) -> None:
        known = max(recorded or p.recorded_date, st.invoice.recorded_date, when)
        app = Application(p.payment_id, st.invoice.invoice_id, p.customer_id, p.currency, when, known, amount, kind)
        self.out.applications.append(app)
        self.applied[p.payment_id].append(app)
        st.balance -= amount
        st.learn(known, amount)
        if st.suspended and st.balance <= 0:
            st.suspended = False
            self.out.collections.append(Collection(st.invoice.invoice_id, "reinstatement", when, None, 0))

    def _settle(self, p: Payment) -> None:
        left = p.amount_cents
        target = self.state.get(p.target_invoice_id or "")
        if (target is not None and target.balance > 0 and not target.written_off
                and target.invoice.recorded_date <= p.recorded_date):
            take = min(left, target.balance)
            self._apply(p, target, take, p.paid_date, "payment")
            left -= take
        for st in self._open_invoices(p.recorded_date):
            if left == 0:
                break
            take = min(left, st.balance)
            self._apply(p, st, take, p.paid_date, "payment")
            left -= take
        if left > 0:
            self.lots.append(_Lot(p, left))
            self.out.credits.append(
                CreditMovement(p.payment_id, p.customer_id, p.currency, p.paid_date, left, "excess")
            )

    def _goodwill(self, g: Payment) -> None:
        self.lots.append(_Lot(g, g.amount_cents))
        self.out.credits.append(
            CreditMovement(g.payment_id, g.customer_id, g.currency, g.paid_date, g.amount_cents, "goodwill")
        )
        self._use_credits(g.paid_date)

    def _use_credits(self, when: date) -> None:
        for lot in self.lots:
            for st in self._open_invoices(when):
                if lot.remaining == 0:
                    break
                take = min(lot.remaining, st.balance)
                lot.remaining -= take
                self._apply(lot.payment, st, take, when, "credit")
                self.out.credits.append(
                    CreditMovement(
                        lot.payment.payment_id,
                        lot.payment.customer_id,
                        lot.payment.currency,
                        when,
                        -take,
                        "applied",
                        st.invoice.invoice_id,
                    )
                )
        self.lots = [lot for lot in self.lots if lot.remaining > 0]

    def _take_credit(self, original: str, amount: int, p: Payment, kind: str) -> int:
        """Take up to ``amount`` of the unused credit of payment ``original``; returns what was taken."""
        taken = 0
        for lot in self.lots:
            if lot.payment.payment_id == original and lot.remaining > 0 and taken < amount:
                take = min(lot.remaining, amount - taken)
                lot.remaining -= take
                taken += take
                self.out.credits.append(CreditMovement(original, p.customer_id, p.currency, p.paid_date, -take, kind))
        self.lots = [lot for lot in self.lots if lot.remaining > 0]
        return taken

    def _chargeback(self, p: Payment) -> None:
        original = p.original_payment_id or ""
        left = p.amount_cents - self._take_credit(original, p.amount_cents, p, "chargeback")
        for app in reversed(list(self.applied.get(original, []))):
            if left == 0:
                break
            net = sum(a.amount_cents for a in self.applied[original] if a.invoice_id == app.invoice_id)
            if app.amount_cents <= 0 or net <= 0:
                continue
            back = min(left, app.amount_cents, net)
            st = self.state[app.invoice_id]
            self._apply(self.by_payment.get(original, p), st, -back, p.paid_date, "chargeback", p.recorded_date)
            left -= back
        self._use_credits(p.paid_date)

    def _refund(self, p: Payment) -> None:
        self._take_credit(p.original_payment_id or "", p.amount_cents, p, "refund")
