"""Subscription chains: one term per order, chained across renewals, and the autocharge flow.

A subscription is a chain of terms. Its first order (new or gift) starts it; every later order of
the same subscription (renewal, upgrade, reactivation) and every settled autocharge answer adds the
next term. The rules (docs/conventions.md; docs/computations.md, "Subscriptions and terms" and
"Autocharge and autobill"):

* A renewal term starts at the previous term's end, however late it was ordered or paid. An upgrade
  or a reactivation starts at its own service start and becomes the chain's new anchor.
* Month terms end at the anchor + the months of all terms since the anchor, clamped to the month's
  last day; continuity terms are months too (volumes × the product's shipment interval).
* Issue terms hold N issues in ship-date order from the first shipping on or after the start; an
  issue shipped before the term was recorded is skipped, unless the term is a migrated one (recorded
  on the cut-over date) or it reached the subscription as a graced copy (a renewal takes up to
  ``renewal_grace_issues`` issues shipped between the previous term's end and its own recording as
  its first ones). An issue shipping during a vacation hold known by then is skipped too, so a hold
  extends the term. The end is the ship date of the issue after the last one.
* Autocharge (autorenew with a stored payment method): attempt 1 is requested at end − lead days,
  attempt k + 1 at attempt 1 + retry_offset_k once attempt k's failure is recorded; each attempt's
  key is ``keys.autocharge_request_key(subscription, term number, attempt)``. A settled answer
  creates the next term, priced from the renewal offer and taxed at the previous order's rate.
* Autobill (autorenew without a stored method): the pipeline creates the renewal order itself at
  end − lead days, unless the term was cancelled or renewed by an order by then; its invoice then
  follows the ordinary billing efforts.

Everything is integer cents and ``datetime.date``; no floats.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from lifecycle.keys import autocharge_request_key

#: Order types that start a chain segment at their own service start.
ANCHOR_TYPES = frozenset({"new", "gift", "upgrade", "reactivation"})


def add_months(anchor: date, months: int) -> date:
    """``anchor`` + ``months``, clamped to the last day of the month (31 Jan + 1 = 29 Feb 2024)."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for day in (anchor.day, 30, 29, 28):
        try:
            return date(year, month, min(anchor.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def tax_cents(net_cents: int, rate: Decimal) -> int:
    """Tax on a net amount, half away from zero, to the cent."""
    return int((Decimal(net_cents) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class OfferVersion:
    offer_id: str
    valid_from: date
    valid_to: date | None
    term_unit: str  # months, issues, shipments
    term_length: int
    price_cents: int
    renewal_offer_id: str | None
    schedule_product_id: str | None  # the publication whose issues an issue term counts
    shipment_interval_months: int  # months per volume for shipment terms (1 when not given)


class Catalogue:
    """Offer versions (read as of a date) and issue schedules."""

    def __init__(self, versions: Iterable[OfferVersion], issues: Iterable[tuple[str, str, date]]):
        self._versions: dict[str, list[OfferVersion]] = defaultdict(list)
        for v in versions:
            self._versions[v.offer_id].append(v)
        for vs in self._versions.values():
            vs.sort(key=lambda v: v.valid_from)
        by_product: dict[str, list[tuple[date, str]]] = defaultdict(list)
        for product_id, issue_id, ship_date in issues:
            by_product[product_id].append((ship_date, issue_id))
        self._ships = {p: sorted(v) for p, v in by_product.items()}
        self._ship_dates = {p: [s for s, _ in v] for p, v in self._ships.items()}

    def offer(self, offer_id: str, as_of: date) -> OfferVersion | None:
        """The version in force on ``as_of`` (the first one if ``as_of`` is before them all)."""
        versions = self._versions.get(offer_id)
        if not versions:
            return None
        chosen = versions[0]
        for v in versions:
            if v.valid_from <= as_of:
                chosen = v
        return chosen

    def reach(self, offer_id: str) -> set[str]:
        """Every offer a chain that orders ``offer_id`` may read: the offer itself, the renewal offer of any of its
        versions, theirs, and so on (an offer the catalogue lacks is in it too: were it added, the chain would
        read it)."""
        reached, todo = set(), [offer_id]
        while todo:
            current = todo.pop()
            if current in reached:
                continue
            reached.add(current)
            todo.extend(v.renewal_offer_id for v in self._versions.get(current, ()) if v.renewal_offer_id)
        return reached

    def offer_digest(self, offer_id: str) -> int:
        """What a chain can read of one offer, as 64 bits: every version of it (dates, term, price, renewal offer,
        structure) and the issue schedule of each version's publication. The same catalogue gives the same
        number in every process (not Python's salted ``hash``)."""
        versions = self._versions.get(offer_id, [])
        products = sorted({v.schedule_product_id for v in versions if v.schedule_product_id})
        text = repr((versions, [(p, self._ships.get(p, [])) for p in products]))
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")

    def issues_from(
        self, product_id: str | None, not_before: date, count: int, keep: Callable[[date], bool] | None = None
    ) -> tuple[list[tuple[date, str]], date | None]:
        """The ``count`` issues (ship date, issue id) shipping on or after ``not_before`` that ``keep``
        accepts (all, without it), and the ship date of the next issue after the last. The end is ``None``
        when the schedule does not reach that far yet.
        """
        ships = self._ships.get(product_id or "", [])
        dates = self._ship_dates.get(product_id or "", [])
        chosen: list[tuple[date, str]] = []
        i = bisect.bisect_left(dates, not_before)
        while i < len(ships) and len(chosen) < count:
            if keep is None or keep(ships[i][0]):
                chosen.append(ships[i])
            i += 1
        end = dates[i] if i < len(dates) and len(chosen) == count else None
        return chosen, end


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_id: str
    subscription_id: str
    order_type: str
    offer_id: str
    ordered_at: datetime
    ordered_date: date
    recorded_date: date
    service_start: date
    quantity: int
    tax_rate: Decimal
    currency: str
    autorenew: bool
    payment_method_token: str | None


@dataclass(frozen=True)
class Answer:
    """A payment row answering an autocharge request."""

    payment_id: str
    customer_id: str
    paid_at: datetime
    paid_date: date
    recorded_date: date
    status: str
    request_key: str
    known_date: date | None = None  # when it was first known, if not its recorded date (migration load)

    @property
    def known(self) -> date:
        return self.known_date or self.recorded_date


@dataclass(frozen=True)
class Cancellation:
    subscription_id: str
    requested_date: date
    recorded_date: date  # the night it was known (for the migration load: the requested date)


@dataclass(frozen=True)
class Hold:
    """A vacation hold: no issue ships in [hold_from, hold_to); the held issues extend the term."""

    subscription_id: str
    hold_from: date
    hold_to: date
    known_date: date  # the night it was known: a hold cannot un-ship an issue that left before

    def holds(self, ship_date: date) -> bool:
        return self.hold_from <= ship_date < self.hold_to and self.known_date <= ship_date


@dataclass
class Term:
    subscription_id: str
    term_number: int
    order_id: str
    source: str  # 'order' (the orders feed), 'autocharge' (a settled answer) or 'autobill' (billed by us)
    source_order_id: str  # the feed order whose customer, ship-to, tax rate and method it carries
    customer_id: str
    order_type: str
    offer_id: str
    term_unit: str
    term_length: int
    ordered_at: datetime
    ordered_date: date
    recorded_date: date
    start_date: date
    end_date: date | None
    anchor_date: date
    months_since_anchor: int
    issues: list[tuple[date, str]]  # entitled issues: (ship date, issue id), in ship-date order
    schedule_product_id: str | None
    quantity: int
    currency: str
    tax_rate: Decimal
    unit_price_cents: int | None  # derived orders only: the renewal offer's price
    autorenew: bool
    payment_method_token: str | None
    renewal_offer_id: str | None
    settling_payment_id: str | None = None  # autocharge orders: the settled answer that created it
    autocharge_outcome: str | None = None  # renewed, failed, pending, not_requested (autocharge terms)
    # issue terms whose end a hold moved after the term began: [(from night, end as known from then), ...]
    end_revisions: list[tuple[date, date]] = field(default_factory=list)


    @property
    def issue_ids(self) -> list[str]:
        return [issue for _, issue in self.issues]


@dataclass
class Request:
    subscription_id: str
    term_number: int
    attempt: int
    request_key: str
    request_date: date
    customer_id: str
    currency: str
    amount_cents: int
    renewal_offer_id: str
    payment_method_token: str
    answer_payment_id: str | None
    answer_status: str | None
    answer_recorded_date: date | None


@dataclass
class Notice:
    """The "we will charge your card" message, ``upcoming_autocharge_days`` before attempt 1."""

    subscription_id: str
    term_number: int
    request_key: str  # attempt 1's key: the charge this notice announces
    due_date: date
    charge_date: date
    term_end: date
    customer_id: str
    currency: str
    amount_cents: int
    renewal_offer_id: str


@dataclass
class Chains:
    terms: list[Term] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    #: each subscription's first date after the business date on which its walk would go further (a renewal
    #: billed, a notice due, a request made); none: nothing of it waits for a date. Until then a night walking
    #: the same inputs gives it the same records.
    next_events: dict[str, date] = field(default_factory=dict)

    def waits(self, subscription_id: str, day: date) -> None:
        """Something of the subscription waits for ``day``, after the business date."""
        known = self.next_events.get(subscription_id)
        if known is None or day < known:
            self.next_events[subscription_id] = day


@dataclass(frozen=True)
class Knobs:
    business_date: date
    cutover_date: date | None
    autocharge_lead_days: int = 5
    autocharge_retry_offsets: tuple[int, ...] = (3, 7)
    business_timezone: str = "UTC"
    upcoming_autocharge_days: int = 7
    renewal_grace_issues: int = 0

    def start_of_day(self, day: date) -> datetime:
        """Midnight of ``day`` in the business time zone, as a UTC timestamp."""
        return datetime.combine(day, time(0), ZoneInfo(self.business_timezone)).astimezone(UTC)


def build_chains(
    orders: Iterable[Order],
    answers: Iterable[Answer],
    cancellations: Iterable[Cancellation],
    catalogue: Catalogue,
    knobs: Knobs,
    holds: Iterable[Hold] = (),
) -> Chains:
    """Every subscription's terms and autocharge requests as of ``knobs.business_date``."""
    by_sub: dict[str, list[Order]] = defaultdict(list)
    for o in orders:
        by_sub[o.subscription_id].append(o)
    answer_by_key: dict[str, Answer] = {}
    for a in sorted(answers, key=lambda a: (a.paid_at, a.payment_id)):
        answer_by_key.setdefault(a.request_key, a)  # a replayed key: the first answer counts
    cancels: dict[str, list[Cancellation]] = defaultdict(list)
    for c in cancellations:
        cancels[c.subscription_id].append(c)
    held: dict[str, list[Hold]] = defaultdict(list)
    for h in holds:
        held[h.subscription_id].append(h)

    out = Chains()
    for sub in sorted(by_sub):
        feed = sorted(by_sub[sub], key=lambda o: (o.ordered_at, o.order_id))
        _chain(sub, feed, answer_by_key, cancels.get(sub, []), held.get(sub, []), catalogue, knobs, out)
    return out


def _term_window(
    order_type: str,
    offer: OfferVersion,
    start: date,
    recorded: date,
    prev: Term | None,
    catalogue: Catalogue,
    knobs: Knobs,
    holds: list[Hold],
) -> tuple[date | None, date, int, list[tuple[date, str]], list[tuple[date, date]]]:
    """(end, anchor, months since anchor, issues, end revisions) of a term starting at ``start``."""
    if offer.term_unit == "issues":
        migrated = knobs.cutover_date is not None and recorded == knobs.cutover_date
        # a renewal recorded late keeps the copies graced in the meantime as its first issues
        renews = prev is not None and prev.term_unit == "issues" and prev.end_date == start
        graced_allowed = knobs.renewal_grace_issues if renews and not migrated else 0

        def window(known: list[Hold]) -> tuple[list[tuple[date, str]], date | None]:
            graced = 0

            def keep(ship_date: date) -> bool:
                nonlocal graced
                if any(h.holds(ship_date) for h in known):
                    return False
                if migrated or ship_date >= recorded:
                    return True
                graced += 1  # shipped before the term was recorded: only a graced copy reached it
                return graced <= graced_allowed

            return catalogue.issues_from(offer.schedule_product_id, start, offer.term_length, keep)

        issues, end = window(holds)
        return end, start, 0, issues, _end_revisions(start, recorded, end, holds, window)
    months = offer.term_length * (offer.shipment_interval_months if offer.term_unit == "shipments" else 1)
    continues = (
        prev is not None and order_type not in ANCHOR_TYPES and prev.term_unit != "issues" and prev.end_date == start
    )
    anchor = prev.anchor_date if continues else start
    so_far = (prev.months_since_anchor if continues else 0) + months
    return add_months(anchor, so_far), anchor, so_far, [], []


def _end_revisions(
    start: date,
    recorded: date,
    end: date | None,
    holds: list[Hold],
    window: Callable[[list[Hold]], tuple[list[tuple[date, str]], date | None]],
) -> list[tuple[date, date]]:
    """The ends an issue term had as it became known, when a hold known after the term began moved it:
    [(start, end as known then), (the night a hold moved it, the new end), ...]; empty when it never moved.

    Revenue spread over the term's days keeps what it earned before each move and spreads the rest over what
    is left (a hold known after the term was recorded and started must not change an earlier month's revenue).
    """
    if end is None:
        return []
    horizon = max(start, recorded)
    later = sorted({h.known_date for h in holds if h.known_date > horizon and h.hold_to > start})
    if not later:
        return []
    versions: list[tuple[date, date | None]] = [(start, window([h for h in holds if h.known_date <= horizon])[1])]
    for night in later:
        moved = window([h for h in holds if h.known_date <= night])[1]
        if moved != versions[-1][1]:
            versions.append((night, moved))
    known = [(day, e) for day, e in versions if e is not None]
    if len(known) < 2:
        return []
    # an end not known yet earns nothing until it is: the first known end counts from the start
    return [(start, known[0][1]), *known[1:]]


def _chain(
    sub: str,
    feed: list[Order],
    answer_by_key: dict[str, Answer],
    cancels: list[Cancellation],
    holds: list[Hold],
    catalogue: Catalogue,
    knobs: Knobs,
    out: Chains,
) -> None:
    attempts = 1 + len(knobs.autocharge_retry_offsets)
    prev: Term | None = None
    source_order: Order | None = None
    i = 0  # next feed order
    while True:
        nxt = feed[i] if i < len(feed) else None
        term = None
        if prev is not None and prev.autorenew and prev.renewal_offer_id:
            if prev.payment_method_token:
                renewed = _autocharge(prev, nxt, answer_by_key, cancels, catalogue, knobs, attempts, out)
                if renewed is not None:
                    answer, requested = renewed
                    # known once both the request and its answer are: a legacy answer of the migration load can
                    # precede the request the pipeline makes (the legacy charged earlier), and an order known on a
                    # later night must not take an invoice number before the ones already issued
                    term = _derived_term(prev, source_order, "autocharge", answer.paid_at, answer.paid_date,
                                         max(answer.recorded_date, requested), answer.payment_id, catalogue, knobs,
                                         holds)
            else:
                bill_day = _autobill_day(prev, nxt, cancels, knobs, out)
                if bill_day is not None:
                    # billed by the pipeline that night; a bill of the migrated past, on the cut-over night
                    recorded = max(bill_day, knobs.cutover_date) if knobs.cutover_date else bill_day
                    term = _derived_term(prev, source_order, "autobill", knobs.start_of_day(bill_day), bill_day,
                                         recorded, None, catalogue, knobs, holds)
        if term is None:
            if nxt is None:
                return
            term = _feed_term(nxt, prev, catalogue, knobs, holds)
            source_order = nxt
            i += 1
        out.terms.append(term)
        prev = term


def _feed_term(o: Order, prev: Term | None, catalogue: Catalogue, knobs: Knobs, holds: list[Hold]) -> Term:
    offer = catalogue.offer(o.offer_id, o.recorded_date)
    if offer is None:  # the contract refuses orders for unknown offers; kept total for safety
        raise ValueError(f"order {o.order_id}: offer {o.offer_id} unknown")
    renews = o.order_type not in ANCHOR_TYPES and prev is not None and prev.end_date is not None
    return _new_term(
        offer, o.order_type, prev.end_date if renews else o.service_start, o.recorded_date, prev, catalogue, knobs,
        holds,
        subscription_id=o.subscription_id,
        term_number=1 if prev is None else prev.term_number + 1,
        order_id=o.order_id,
        source="order",
        source_order_id=o.order_id,
        customer_id=o.customer_id,
        offer_id=o.offer_id,
        ordered_at=o.ordered_at,
        ordered_date=o.ordered_date,
        quantity=o.quantity,
        currency=o.currency,
        tax_rate=o.tax_rate,
        unit_price_cents=None,
        autorenew=o.autorenew,
        payment_method_token=o.payment_method_token,
    )


def _new_term(
    offer: OfferVersion,
    order_type: str,
    start: date,
    recorded_date: date,
    prev: Term | None,
    catalogue: Catalogue,
    knobs: Knobs,
    holds: list[Hold],
    **fields,
) -> Term:
    """A term of ``offer`` starting at ``start``: its window and the offer's structure, plus ``fields``."""
    end, anchor, months, issues, revisions = _term_window(
        order_type, offer, start, recorded_date, prev, catalogue, knobs, holds
    )
    return Term(
        order_type=order_type,
        term_unit=offer.term_unit,
        term_length=offer.term_length,
        recorded_date=recorded_date,
        start_date=start,
        end_date=end,
        anchor_date=anchor,
        months_since_anchor=months,
        issues=issues,
        end_revisions=revisions,
        schedule_product_id=offer.schedule_product_id,
        renewal_offer_id=offer.renewal_offer_id,
        **fields,
    )


def _autobill_day(prev: Term, nxt: Order | None, cancels: list[Cancellation], knobs: Knobs,
                  out: Chains) -> date | None:
    """The night the pipeline bills ``prev``'s renewal itself, if it is due by tonight."""
    if prev.end_date is None:
        return None
    bill_day = prev.end_date - timedelta(days=knobs.autocharge_lead_days)
    if bill_day > knobs.business_date:
        out.waits(prev.subscription_id, bill_day)
        return None
    if _stopped(prev, nxt, cancels, bill_day):
        return None
    return bill_day


def _stopped(prev: Term, nxt: Order | None, cancels: list[Cancellation], day: date) -> bool:
    """Was ``prev`` cancelled, or renewed by an order, as known on ``day``?"""
    if any(prev.ordered_date <= c.requested_date and c.recorded_date <= day for c in cancels):
        return True
    return nxt is not None and nxt.ordered_date <= day


def _derived_term(
    prev: Term,
    source: Order | None,
    kind: str,
    ordered_at: datetime,
    ordered_date: date,
    recorded_date: date,
    settling_payment_id: str | None,
    catalogue: Catalogue,
    knobs: Knobs,
    holds: list[Hold],
) -> Term:
    """The renewal term the pipeline creates: ``kind`` is 'autocharge' (a settled answer) or 'autobill'."""
    assert prev.end_date is not None and prev.renewal_offer_id is not None
    first_request = prev.end_date - timedelta(days=knobs.autocharge_lead_days)
    offer = catalogue.offer(prev.renewal_offer_id, first_request)
    if offer is None:
        raise ValueError(f"subscription {prev.subscription_id}: renewal offer {prev.renewal_offer_id} unknown")
    number = prev.term_number + 1
    return _new_term(
        offer, "renewal", prev.end_date, recorded_date, prev, catalogue, knobs, holds,
        subscription_id=prev.subscription_id,
        term_number=number,
        order_id=f"AUTO-{prev.subscription_id}-{number}",
        source=kind,
        source_order_id=source.order_id if source else prev.source_order_id,
        customer_id=prev.customer_id,
        offer_id=offer.offer_id,
        ordered_at=ordered_at,
        ordered_date=ordered_date,
        quantity=prev.quantity,
        currency=prev.currency,
        tax_rate=prev.tax_rate,
        unit_price_cents=offer.price_cents,
        autorenew=prev.autorenew,
        payment_method_token=prev.payment_method_token,
        settling_payment_id=settling_payment_id,
    )


def _autocharge(
    prev: Term,
    nxt: Order | None,
    answer_by_key: dict[str, Answer],
    cancels: list[Cancellation],
    catalogue: Catalogue,
    knobs: Knobs,
    attempts: int,
    out: Chains,
) -> tuple[Answer, date] | None:
    """Request the attempts renewing ``prev``; the settled answer that renews it and its request's date, if any."""
    if prev.end_date is None:
        prev.autocharge_outcome = "not_requested"
        return None
    first = prev.end_date - timedelta(days=knobs.autocharge_lead_days)
    offer = catalogue.offer(prev.renewal_offer_id, first)
    if offer is None:
        prev.autocharge_outcome = "not_requested"
        return None
    net = offer.price_cents * prev.quantity
    amount = net + tax_cents(net, prev.tax_rate)
    # the upcoming-charge notice: N days ahead, or as soon as the term is known if that is later (a
    # migrated term was known to the legacy system when ordered)
    migrated = knobs.cutover_date is not None and prev.recorded_date == knobs.cutover_date
    known = min(prev.ordered_date, prev.recorded_date) if migrated else prev.recorded_date
    notice_day = max(first - timedelta(days=knobs.upcoming_autocharge_days), known)
    if notice_day < first and notice_day > knobs.business_date:
        out.waits(prev.subscription_id, notice_day)
    if notice_day < first and notice_day <= knobs.business_date and not _stopped(prev, nxt, cancels, notice_day):
        out.notices.append(
            Notice(
                subscription_id=prev.subscription_id,
                term_number=prev.term_number,
                request_key=autocharge_request_key(prev.subscription_id, prev.term_number, 1),
                due_date=notice_day,
                charge_date=first,
                term_end=prev.end_date,
                customer_id=prev.customer_id,
                currency=prev.currency,
                amount_cents=amount,
                renewal_offer_id=offer.offer_id,
            )
        )
    request_date = first
    failure_recorded = first
    for attempt in range(1, attempts + 1):
        if attempt > 1:  # a retry waits for its offset and for the previous failure to be recorded
            request_date = max(first + timedelta(days=knobs.autocharge_retry_offsets[attempt - 2]), failure_recorded)
        if request_date > knobs.business_date:
            out.waits(prev.subscription_id, request_date)
            prev.autocharge_outcome = "pending"
            return None
        # no request for a term cancelled, or renewed by an order, before the request is due
        if _stopped(prev, nxt, cancels, request_date):
            prev.autocharge_outcome = prev.autocharge_outcome or "not_requested"
            return None
        key = autocharge_request_key(prev.subscription_id, prev.term_number, attempt)
        answer = answer_by_key.get(key)
        if answer is not None and answer.customer_id != prev.customer_id:
            answer = None  # a key is only honoured from the customer it was sent for
        out.requests.append(
            Request(
                subscription_id=prev.subscription_id,
                term_number=prev.term_number,
                attempt=attempt,
                request_key=key,
                request_date=request_date,
                customer_id=prev.customer_id,
                currency=prev.currency,
                amount_cents=amount,
                renewal_offer_id=offer.offer_id,
                payment_method_token=prev.payment_method_token or "",
                answer_payment_id=answer.payment_id if answer else None,
                answer_status=answer.status if answer else None,
                answer_recorded_date=answer.recorded_date if answer else None,
            )
        )
        if answer is None:
            prev.autocharge_outcome = "pending"
            return None
        if answer.status == "settled":
            if nxt is not None and nxt.ordered_at <= answer.paid_at:
                prev.autocharge_outcome = "not_requested"
                return None  # renewed by an order first: the charge is a payment like any other
            prev.autocharge_outcome = "renewed"
            return answer, request_date
        if answer.status != "failed":
            prev.autocharge_outcome = "pending"
            return None
        failure_recorded = answer.known
    prev.autocharge_outcome = "failed"
    return None
