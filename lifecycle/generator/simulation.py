"""The publisher's history as arrays: subscription chains simulated term by term, and the events they cause.

Everything is vectorised over chains; the only Python loop runs over term numbers (a monthly chain
over three years has ~40 terms). Days are integers (days since 1970-01-01), times of day are
seconds, money is integer cents. Ids are assigned later, in event order (see ``delivery``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifecycle.generator.calendar import add_months
from lifecycle.generator.catalogue import (
    BOOK_SKU,
    CURRENCIES,
    ISSUES,
    PLAN_INDEX,
    PLANS,
    SHIPMENTS,
    TAX_E4,
    TOTE_SKU,
    Catalogue,
)
from lifecycle.generator.people import COUNTRIES, Customers

ORDER_TYPES = ("new", "renewal", "gift", "upgrade", "reactivation")
NEW, RENEWAL, GIFT, UPGRADE, REACTIVATION = range(5)
PAYMENT_TERMS = ("prepaid", "net_15", "net_30", "net_60")
NET_DAYS = np.array([0, 15, 30, 60])
METHODS = ("card", "ach", "check", "bank_transfer", "paypal")
CARD, ACH, CHECK, BANK_TRANSFER, PAYPAL = range(5)
STATUSES = ("settled", "failed", "refunded", "chargeback")
SETTLED, FAILED, REFUNDED, CHARGEBACK = range(4)
REASONS = ("price", "content", "nonpayment", "moved", "deceased", "other")
CHANNELS = ("phone", "email", "chat", "letter")
TOPICS = ("billing", "delivery", "renewal", "cancellation", "address_change", "complaint", "other")
SKUS = (BOOK_SKU, TOTE_SKU)
#: How a chain renews: by notice (a renewal order), autocharge (stored card: the processor's answers
#: arrive as payments), or autorenew without a stored method (the pipeline bills, the customer pays).
NOTICE, AUTOCHARGE, AUTOBILL = 0, 1, 2

PROMOS = (
    "WEB-ORGANIC",
    "WEB-SEARCH",
    "DM-SPRING",
    "DM-FALL",
    "EMAIL-NEWSLETTER",
    "SOCIAL-FB",
    "INSERT-CARD",
    "PARTNER-PODCAST",
    "GIFT-HOLIDAY",
    "GIFT-WEB",
    "AGENT-EBSCO",
    "AGENT-HARRASSOWITZ",
    "SAVE10",
    "SAVE15",
    "SAVE20",
    "SAVE25",
    "RNW-NOTICE",
    "RNW-EARLY",
    "RNW-LOYAL10",
    "UPSELL-BUNDLE",
    "UPSELL-TIER",
    "WINBACK",
    "AC-RESCUE",
)
_P = {code: i for i, code in enumerate(PROMOS)}
NOTES = (
    "",
    "",
    "",
    "Asked when the next issue ships",
    "Updated card on file",
    'Said the issue "never arrived"; reshipped',
    "Wants the invoice re-sent, by e-mail",
    "Question about the student rate",
    "Complained about price increase",
    "Thanked us for the book club selection",
    "Asked to pause delivery while travelling",
    "Called re: renewal notice, will renew online",
    "Billing address corrected",
    "Prefers letters, not e-mail",
    "Damaged copy — replacement sent",
    "Asked for a receipt for tax purposes",
)

#: Acquisition mix by segment (family → weight). "GIFT" is a gift of the print or bundle offer.
FIRST_FAMILIES = (
    {
        "PRT12": 14,
        "PRTINTRO": 8,
        "PRT24": 4,
        "DIGINTRO": 16,
        "DIGM": 6,
        "DIG12": 9,
        "BND12": 10,
        "BOOK6": 6,
        "MEMB": 5,
        "MEMS": 3,
        "MEMG": 1.5,
        "TOTE": 3,
        "GIFT": 6,
    },
    {"STUDIG12": 70, "DIGINTRO": 15, "PRT12": 5, "TOTE": 10},
    {"INSTBND12": 85, "PRT24": 10, "MEMG": 5},
)
SECOND_FAMILIES = {"TOTE": 30, "GIFT": 25, "MEMB": 10, "BOOK6": 10, "DIG12": 10, "PRT12": 15}
#: (probability of autocharge, probability of autorenew without a stored method) per family.
MODE_P = {
    "PRT12": (0.15, 0.0),
    "PRTINTRO": (0.2, 0.0),
    "PRT24": (0.1, 0.0),
    "DIGINTRO": (1.0, 0.0),
    "DIGM": (1.0, 0.0),
    "DIG12": (0.6, 0.0),
    "BND12": (0.3, 0.0),
    "BOOK6": (0.6, 0.0),
    "MEMB": (0.5, 0.0),
    "MEMS": (0.5, 0.0),
    "MEMG": (0.5, 0.0),
    "STUDIG12": (0.5, 0.0),
    "INSTBND12": (0.0, 0.4),
}
#: Probability that a by-notice chain is invoiced (bill me later) rather than prepaid.
INVOICE_P = {
    "PRT12": 0.4,
    "PRTINTRO": 0.3,
    "PRT24": 0.3,
    "DIG12": 0.1,
    "BND12": 0.25,
    "BOOK6": 0.1,
    "MEMB": 0.2,
    "MEMS": 0.2,
    "MEMG": 0.2,
    "INSTBND12": 1.0,
    "GIFT": 0.3,
}
AUTOCHARGE_FAILURE_P = 0.08
AUTOCHARGE_OFFSETS = (0, 3, 7)  # attempt k's day from attempt 1 (settings: autocharge_retry_offsets)
AUTOCHARGE_LEAD_DAYS = 5


class Table:
    """Columns of one kind of event, appended in batches, concatenated once."""

    def __init__(self, **defaults: object) -> None:
        self.defaults = defaults
        self.parts: list[dict[str, np.ndarray]] = []
        self.n = 0

    def add(self, **columns: object) -> np.ndarray:
        sizes = {np.size(v) for v in columns.values() if np.ndim(v) > 0}
        if len(sizes) > 1:
            raise ValueError(f"columns of different lengths: {sizes}")
        n = sizes.pop() if sizes else 1
        part = {}
        for name, default in self.defaults.items():
            value = np.asarray(columns.pop(name, default))
            part[name] = np.broadcast_to(value.astype(np.asarray(default).dtype), (n,)).copy()
        if columns:
            raise KeyError(f"unknown columns {sorted(columns)}")
        self.parts.append(part)
        index = np.arange(self.n, self.n + n)
        self.n += n
        return index

    def arrays(self) -> dict[str, np.ndarray]:
        if not self.parts:
            return {k: np.zeros(0, dtype=np.asarray(d).dtype) for k, d in self.defaults.items()}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.defaults}


I64 = np.int64


def _orders_table() -> Table:
    return Table(
        chain=I64(-1),
        cust=I64(-1),
        offer=I64(-1),
        otype=I64(0),
        qty=I64(1),
        unit=I64(0),
        disc=I64(0),
        tax_e4=I64(0),
        tax=I64(0),
        svc=I64(0),
        day=I64(0),
        sec=I64(0),
        autorenew=False,
        token=I64(-1),
        terms=I64(0),
        recip=I64(-1),
        promo=I64(-1),
        lag_ok=False,
    )


def _payments_table() -> Table:
    return Table(
        cust=I64(-1),
        order=I64(-1),
        day=I64(0),
        sec=I64(0),
        amount=I64(0),
        cur=I64(0),
        method=I64(CARD),
        status=I64(SETTLED),
        orig=I64(-1),
        ac_chain=I64(-1),
        ac_term=I64(0),
        ac_attempt=I64(0),
        mailed=False,
    )


@dataclass
class History:
    """Every simulated event, before ids and recorded dates."""

    orders: dict[str, np.ndarray]
    payments: dict[str, np.ndarray]
    cancellations: dict[str, np.ndarray]
    suspensions: dict[str, np.ndarray]
    interactions: dict[str, np.ndarray]
    receipts: dict[str, np.ndarray]
    chain_cust: np.ndarray
    chain_first_day: np.ndarray
    tokens: int
    recipients: int
    terms: int = 0


class Simulation:
    def __init__(
        self,
        rng: np.random.Generator,
        cat: Catalogue,
        people: Customers,
        acquisition: np.ndarray,
        start: int,
        end: int,
        cutover: int | None = None,
    ) -> None:
        self.rng = rng
        # refunds decided from the cut-over on are requested by the pipeline and answered by the sample
        # processor (lifecycle.generator.processor); the history before it carries the legacy's answers
        self.cutover = end + 1 if cutover is None else cutover
        self.awaiting_refund: list[np.ndarray] = []  # payments whose refund the processor will answer
        self.cat = cat
        self.people = people
        self.acq = acquisition
        self.start = start
        self.end = end
        self.orders = _orders_table()
        self.payments = _payments_table()
        self.cancellations = Table(chain=I64(-1), day=I64(0), sec=I64(0), eff=I64(0), reason=I64(0))
        self.suspensions = Table(chain=I64(-1), day=I64(0), hold_from=I64(0), hold_to=I64(0))
        self.shipments: list[tuple[int, np.ndarray]] = []  # (sku index, ship days)
        self.tokens = 0
        self.terms = 0

    # --- small helpers ------------------------------------------------------------------
    def between(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """A uniform integer in [lo, hi] per row (hi < lo gives lo)."""
        lo = np.asarray(lo, dtype=I64)
        hi = np.maximum(np.asarray(hi, dtype=I64), lo)
        return lo + np.floor(self.rng.random(np.shape(lo)) * (hi - lo + 1)).astype(I64)

    def clock(self, n: int, lo_hour: int, hi_hour: int) -> np.ndarray:
        return self.rng.integers(lo_hour * 3600, hi_hour * 3600, size=n)

    def new_tokens(self, n: int) -> np.ndarray:
        out = np.arange(self.tokens, self.tokens + n)
        self.tokens += n
        return out

    def weighted(self, n: int, weights: dict[str, float]) -> np.ndarray:
        codes = list(weights)
        p = np.array([weights[c] for c in codes], dtype=float)
        return np.array(codes, dtype=object)[self.rng.choice(len(codes), size=n, p=p / p.sum())]

    # --- chains -------------------------------------------------------------------------
    def acquire(self) -> None:
        """One first subscription per customer, a second one for a quarter of them."""
        rng, people, cat = self.rng, self.people, self.cat
        n = people.n
        family = np.empty(n, dtype=object)
        for seg, weights in enumerate(FIRST_FAMILIES):
            rows = np.flatnonzero(people.segment == seg)
            family[rows] = self.weighted(len(rows), weights)
        day = self.acq.copy()
        cust = np.arange(n)
        second = (people.segment != 2) & (rng.random(n) < 0.25) & (day < self.end)
        c2 = cust[second]
        d2 = self.between(day[second] + 1, np.full(len(c2), self.end))
        self.chain_cust = np.concatenate([cust, c2])
        family = np.concatenate([family, self.weighted(len(c2), SECOND_FAMILIES)])
        first_day = np.concatenate([day, d2])
        S = len(self.chain_cust)

        gift = family == "GIFT"
        plan = family.copy()
        plan[gift] = np.where(rng.random(gift.sum()) < 0.7, "PRT12", "BND12")
        if cat.launch_day is not None:  # the two-year digital offer, once launched, takes a share of annual sales
            late = (plan == "DIG12") & (first_day >= cat.launch_day) & (rng.random(S) < 0.3)
            plan[late] = "DIG24"
        cur = np.array([CURRENCIES.index(_currency(c)) for c in COUNTRIES])[people.country[self.chain_cust]]
        offer_table = np.full((len(PLANS), len(CURRENCIES)), -1, dtype=I64)
        for (code, currency), i in cat.offer_of.items():
            offer_table[PLAN_INDEX[code], CURRENCIES.index(currency)] = i
        offer = offer_table[_lookup(plan, PLAN_INDEX, -1), cur]

        auto_p = _lookup(family, {f: p[0] for f, p in MODE_P.items()}, 0.0)
        bill_p = _lookup(family, {f: p[1] for f, p in MODE_P.items()}, 0.0)
        r = rng.random(S)
        mode = np.where(r < auto_p, AUTOCHARGE, np.where(r < auto_p + bill_p, AUTOBILL, NOTICE))
        invoiced = (mode != AUTOCHARGE) & (rng.random(S) < _lookup(family, INVOICE_P, 0.0))
        institution = people.segment[self.chain_cust] == 2
        terms = np.where(
            institution, np.where(rng.random(S) < 0.6, 2, 3), rng.choice([1, 2, 3], size=S, p=(0.2, 0.7, 0.1))
        )
        self.chain_mode = mode.astype(I64)
        self.chain_invoiced = invoiced
        self.chain_terms = np.where(invoiced, terms, 0).astype(I64)
        self.chain_qty = np.where(institution & (plan == "INSTBND12"), rng.integers(1, 11, size=S), 1).astype(I64)
        tax = np.array([TAX_E4[c] for c in COUNTRIES])[people.country[self.chain_cust]]
        self.chain_tax = np.where(people.tax_exempt[self.chain_cust], 0, tax).astype(I64)
        self.chain_gift = gift
        self.chain_recip = np.full(S, -1, dtype=I64)
        self.chain_recip[gift] = np.arange(gift.sum())
        self.recipients = int(gift.sum())
        self.chain_token = np.full(S, -1, dtype=I64)
        self.chain_token[mode == AUTOCHARGE] = self.new_tokens(int((mode == AUTOCHARGE).sum()))
        self.chain_first_day = first_day.astype(I64)
        self.chain_family = family

        # the first order of every chain
        sec = self.clock(S, 7, 22)
        svc = first_day.copy()
        later = gift & (rng.random(S) < 0.4)  # some gifts start on the first of next month
        svc[later] = add_months(first_day[later] - _day_of_month(first_day[later]), np.ones(later.sum(), dtype=I64))
        base = cat.price_at(offer, first_day) * self.chain_qty
        discounted = (rng.random(S) < 0.12) & (cat.offer_price[offer] > 100) & (family != "TOTE")
        pct = rng.choice([10, 15, 20, 25], size=S)
        disc = np.where(discounted, base * pct // 100, 0)
        promo = self.first_promos(family, institution)
        promo = np.where(discounted, np.array([_P[f"SAVE{p}"] for p in pct]), promo)
        otype = np.where(gift, GIFT, NEW)
        chains = np.arange(S)
        order_idx, total = self.order(chains, otype, offer, first_day, sec, svc, promo, disc)
        pay_idx, pay_amt, pay_method, paid = self.pay_order(chains, order_idx, offer, first_day, sec, total)

        self.state = {
            "offer": offer,
            "s": svc.astype(I64),
            "anchor": svc.astype(I64),
            "cum": np.zeros(S, dtype=I64),
            "k": np.ones(S, dtype=I64),
            "ord_day": first_day.astype(I64),
            "pay_idx": pay_idx,
            "pay_amt": pay_amt,
            "pay_method": pay_method,
            "unpaid": ~paid,
        }
        self.state["e"] = cat.term_end(offer, self.state["s"], self.state["anchor"], self.state["cum"])

    def first_promos(self, family: np.ndarray, institution: np.ndarray) -> np.ndarray:
        rng = self.rng
        n = len(family)
        general = rng.choice(
            [
                _P[c]
                for c in PROMOS[:8]  # the general channels, WEB-ORGANIC … PARTNER-PODCAST
            ],
            size=n,
        )
        promo = np.where(family == "GIFT", rng.choice([_P["GIFT-HOLIDAY"], _P["GIFT-WEB"]], size=n), general)
        promo = np.where(institution, rng.choice([_P["AGENT-EBSCO"], _P["AGENT-HARRASSOWITZ"]], size=n), promo)
        return np.where(rng.random(n) < 0.15, -1, promo)

    # --- events -------------------------------------------------------------------------
    def order(
        self,
        chains: np.ndarray,
        otype: np.ndarray,
        offer: np.ndarray,
        day: np.ndarray,
        sec: np.ndarray,
        svc: np.ndarray,
        promo: np.ndarray,
        disc: np.ndarray | int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        cat = self.cat
        unit = cat.price_at(offer, day)
        qty = self.chain_qty[chains]
        net = qty * unit - disc
        tax_e4 = self.chain_tax[chains]
        tax = (net * tax_e4 + 5000) // 10000  # half away from zero on non-negative amounts, exact
        mode = self.chain_mode[chains]
        idx = self.orders.add(
            chain=chains,
            cust=self.chain_cust[chains],
            offer=offer,
            otype=otype,
            qty=qty,
            unit=unit,
            disc=disc,
            tax_e4=tax_e4,
            tax=tax,
            svc=svc,
            day=day,
            sec=sec,
            autorenew=mode != NOTICE,
            token=np.where(mode == AUTOCHARGE, self.chain_token[chains], -1),
            terms=np.where(self.chain_invoiced[chains], self.chain_terms[chains], 0),
            recip=self.chain_recip[chains],
            promo=promo,
            lag_ok=cat.offer_unit[offer] != ISSUES,
        )
        self.terms += len(chains)
        return idx, net + tax

    def pay_order(
        self,
        chains: np.ndarray,
        order_idx: np.ndarray,
        offer: np.ndarray,
        day: np.ndarray,
        sec: np.ndarray,
        total: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Payments of newly placed orders: prepaid at once; invoices by check/ACH, late, partial or never.

        Returns per order: the prepaid payment (or -1), its amount and method, and whether the order
        ends up paid in full (an unpaid or partly paid term does not renew).
        """
        rng = self.rng
        n = len(chains)
        cust = self.chain_cust[chains]
        cur = self.cat.offer_currency[offer]
        invoiced = self.chain_invoiced[chains] & (self.chain_mode[chains] != AUTOCHARGE)
        pay_idx = np.full(n, -1, dtype=I64)
        pay_method = np.full(n, -1, dtype=I64)
        paid = np.ones(n, dtype=bool)

        pre = np.flatnonzero(~invoiced)
        method = np.where((self.chain_mode[chains[pre]] == AUTOCHARGE) | (rng.random(len(pre)) < 0.85), CARD, PAYPAL)
        pay_idx[pre] = self.payments.add(
            cust=cust[pre],
            order=order_idx[pre],
            day=day[pre],
            sec=np.minimum(sec[pre] + rng.integers(5, 120, len(pre)), 86_399),
            amount=total[pre],
            cur=cur[pre],
            method=method,
            status=SETTLED,
        )
        pay_method[pre] = method

        inv = np.flatnonzero(invoiced)
        if len(inv):
            self.pay_invoices(
                cust[inv],
                order_idx[inv],
                day[inv],
                total[inv],
                cur[inv],
                NET_DAYS[self.chain_terms[chains[inv]]],
                paid,
                inv,
            )
        return pay_idx, np.where(pay_idx >= 0, total, 0), pay_method, paid

    def pay_invoices(
        self,
        cust: np.ndarray,
        order_idx: np.ndarray,
        day: np.ndarray,
        total: np.ndarray,
        cur: np.ndarray,
        net_days: np.ndarray,
        paid: np.ndarray,
        rows: np.ndarray,
    ) -> None:
        rng = self.rng
        m = len(cust)
        behaviour = rng.choice(7, size=m, p=(0.55, 0.18, 0.06, 0.03, 0.03, 0.05, 0.10))
        # 0 on time, 1 late, 2 partly then the rest, 3 partly only, 4 overpaid, 5 unreferenced (applied
        # by the pipeline to the oldest open invoice), 6 never
        on_time = day + self.between(np.full(m, 3), net_days)
        late = day + net_days + self.between(np.ones(m, dtype=I64), np.full(m, 60))
        when = np.where(behaviour == 1, late, on_time)
        part = total * rng.integers(30, 71, size=m) // 100
        amount = np.where(np.isin(behaviour, (2, 3)), part, total)
        amount = np.where(behaviour == 4, total + rng.integers(100, 2500, size=m), amount)
        method = rng.choice([CHECK, ACH, BANK_TRANSFER], size=m, p=(0.6, 0.3, 0.1))
        sec = self.clock(m, 9, 17)
        first = (behaviour != 6) & (amount > 0)
        self.payments.add(
            cust=cust[first],
            order=np.where(behaviour == 5, -1, order_idx)[first],
            day=when[first],
            sec=sec[first],
            amount=amount[first],
            cur=cur[first],
            method=method[first],
            status=SETTLED,
            mailed=method[first] != CARD,
        )
        rest = (behaviour == 2) & (total - part > 0)
        self.payments.add(
            cust=cust[rest],
            order=order_idx[rest],
            day=when[rest] + rng.integers(10, 41, size=int(rest.sum())),
            sec=self.clock(int(rest.sum()), 9, 17),
            amount=(total - part)[rest],
            cur=cur[rest],
            method=method[rest],
            status=SETTLED,
            mailed=True,
        )
        paid[rows] = ~np.isin(behaviour, (3, 6))

    # --- the term loop ------------------------------------------------------------------
    def run(self) -> None:
        self.acquire()
        st = self.state
        S = len(self.chain_cust)
        alive = np.ones(S, dtype=bool)
        cat, rng, end = self.cat, self.rng, self.end
        plan_of = cat.offer_plan
        cancel_p = np.array([p.cancel_p for p in PLANS])
        renew_first = np.array([p.renew_first for p in PLANS])
        renew_later = np.array([p.renew_later for p in PLANS])
        upgrade_p = np.array([p.upgrade_p for p in PLANS])
        hold_p = np.array([p.hold_p for p in PLANS])
        while True:
            alive &= st["s"] <= end
            ch = np.flatnonzero(alive)
            if len(ch) == 0:
                break
            n = len(ch)
            o, s, e = st["offer"][ch], st["s"][ch], st["e"][ch]
            mode = self.chain_mode[ch]
            plan = plan_of[o]
            ord_day = st["ord_day"][ch]

            # cancellation requested during the term (before the autocharge/autobill run for auto terms)
            latest = np.where(mode == NOTICE, e - 1, e - AUTOCHARGE_LEAD_DAYS - 1)
            cancel = rng.random(n) < cancel_p[plan]
            req = self.between(s, latest)
            window = cat.offer_full_refund_days[o]
            money_back = (window > 0) & (req - ord_day <= window) & (st["pay_idx"][ch] >= 0)
            eff = np.where(money_back | (rng.random(n) < 0.5), req, np.maximum(e, req))
            cancel &= req <= end
            self.cancel(ch[cancel], req[cancel], eff[cancel])
            refund = cancel & money_back
            self.refund(ch[refund], req[refund])
            stop = np.where(cancel, eff, np.iinfo(I64).max)
            asked_before = np.where(cancel, req, np.iinfo(I64).max)

            # vacation holds on print terms
            hold = rng.random(n) < hold_p[plan]
            hold_from = self.between(s, e - 1)
            asked = np.maximum(hold_from - rng.integers(3, 22, size=n), self.chain_first_day[ch])
            hold &= (asked <= end) & (asked < asked_before) & (e - s > 30)
            self.suspensions.add(
                chain=ch[hold],
                day=asked[hold],
                hold_from=hold_from[hold],
                hold_to=hold_from[hold] + rng.integers(14, 36, size=int(hold.sum())),
            )

            # upgrades part-way through a term
            target = cat.offer_upgrade[o]
            up = ~cancel & (target >= 0) & (rng.random(n) < upgrade_p[plan]) & (e - s > 40) & ~self.chain_gift[ch]
            when = self.between(s + 14, e - 14)
            up &= when <= end
            stop = np.where(up, when, stop)
            self.ship(o, s, st["anchor"][ch], st["cum"][ch], stop)

            survived = ~cancel & ~up & ~st["unpaid"][ch]
            renew_to = cat.offer_renewal[o]
            survived &= renew_to >= 0
            lapsed = ~cancel & ~up & ~survived
            next_day = np.full(n, -1, dtype=I64)  # the day the next term was created (-1: none)
            next_kind = np.zeros(n, dtype=I64)  # 1 renewal continues the anchor, 2 new anchor
            next_offer = renew_to.copy()
            next_pay = np.full(n, -1, dtype=I64)
            next_amt = np.zeros(n, dtype=I64)
            next_method = np.full(n, -1, dtype=I64)
            next_unpaid = np.zeros(n, dtype=bool)

            # -- upgrade orders: a new term from the upgrade day, a new anchor
            u = np.flatnonzero(up)
            if len(u):
                sec = self.clock(len(u), 8, 21)
                tier = np.isin(plan[u], [PLAN_INDEX["MEMB"], PLAN_INDEX["MEMS"]])
                idx, total = self.order(
                    ch[u],
                    np.full(len(u), UPGRADE),
                    target[u],
                    when[u],
                    sec,
                    when[u],
                    np.where(tier, _P["UPSELL-TIER"], _P["UPSELL-BUNDLE"]),
                )
                p, a, mth, ok = self.pay_order(ch[u], idx, target[u], when[u], sec, total)
                next_day[u], next_kind[u], next_offer[u] = when[u], 2, target[u]
                next_pay[u], next_amt[u], next_method[u], next_unpaid[u] = p, a, mth, ~ok

            # -- autocharge: attempts at term end - 5, then +3 and +7 days
            a = np.flatnonzero(survived & (mode == AUTOCHARGE))
            if len(a):
                r = self.autocharge(ch[a], e[a], renew_to[a], st["k"][ch[a]])
                ok_day, ok_pay, ok_amt, rescued, failed_out = r
                settled = ok_day >= 0
                next_day[a[settled]] = ok_day[settled]
                next_kind[a[settled]] = 1
                next_pay[a[settled]], next_amt[a[settled]] = ok_pay[settled], ok_amt[settled]
                next_method[a[settled]] = CARD
                rs = np.flatnonzero(rescued >= 0)
                if len(rs):  # renewed by order after the last failure, with a new card
                    rows = a[rs]
                    self.chain_token[ch[rows]] = self.new_tokens(len(rs))
                    sec = self.clock(len(rs), 8, 21)
                    idx, total = self.order(
                        ch[rows], np.full(len(rs), RENEWAL), renew_to[rows], rescued[rs], sec, e[rows], _P["AC-RESCUE"]
                    )
                    p, amt, mth, ok = self.pay_order(ch[rows], idx, renew_to[rows], rescued[rs], sec, total)
                    next_day[rows], next_kind[rows] = rescued[rs], 1
                    next_pay[rows], next_amt[rows], next_method[rows], next_unpaid[rows] = p, amt, mth, ~ok
                lapsed[a[failed_out]] = True

            # -- autobill: the pipeline invoices at term end - 5; the customer pays by check, or never
            b = np.flatnonzero(survived & (mode == AUTOBILL))
            if len(b):
                bill_day = e[b] - AUTOCHARGE_LEAD_DAYS
                ok = bill_day <= end
                b, bill_day = b[ok], bill_day[ok]
                price = cat.price_at(renew_to[b], bill_day) * self.chain_qty[ch[b]]
                total = price + (price * self.chain_tax[ch[b]] + 5000) // 10000
                pays = rng.random(len(b)) < 0.85
                when_paid = bill_day + rng.integers(10, 61, size=len(b))
                self.payments.add(
                    cust=self.chain_cust[ch[b]][pays],
                    day=when_paid[pays],
                    sec=self.clock(int(pays.sum()), 9, 17),
                    amount=total[pays],
                    cur=cat.offer_currency[renew_to[b]][pays],
                    method=rng.choice([CHECK, ACH], size=int(pays.sum())),
                    status=SETTLED,
                    mailed=True,
                )
                next_day[b], next_kind[b], next_unpaid[b] = bill_day, 1, ~pays
                self.terms += len(b)

            # -- by notice: a renewal order, early or a little late, or a lapse
            nt = np.flatnonzero(survived & (mode == NOTICE))
            if len(nt):
                k = st["k"][ch[nt]]
                p_renew = np.where(k == 1, renew_first[plan[nt]], renew_later[plan[nt]])
                renews = rng.random(len(nt)) < p_renew
                r = rng.random(len(nt))
                issues = cat.offer_unit[o[nt]] == ISSUES
                late_max = np.where(issues, 20, 40)  # an issue term is renewed before its second issue ships
                offset = np.where(
                    r < 0.65,
                    -self.between(np.ones(len(nt), dtype=I64), np.full(len(nt), 60)),
                    np.where(
                        r < 0.95,
                        self.between(np.zeros(len(nt), dtype=I64), np.full(len(nt), 14)),
                        self.between(np.full(len(nt), 15), late_max),
                    ),
                )
                day = np.maximum(e[nt] + offset, np.maximum(s[nt], ord_day[nt]) + 1)
                go = renews & (day <= end)
                rows = nt[go]
                if len(rows):
                    promo = np.where(day[go] < e[rows], _P["RNW-EARLY"], _P["RNW-NOTICE"])
                    loyal = rng.random(len(rows)) < 0.05
                    base = cat.price_at(renew_to[rows], day[go]) * self.chain_qty[ch[rows]]
                    disc = np.where(loyal, base // 10, 0)
                    promo = np.where(loyal, _P["RNW-LOYAL10"], promo)
                    sec = self.clock(len(rows), 7, 22)
                    idx, total = self.order(
                        ch[rows], np.full(len(rows), RENEWAL), renew_to[rows], day[go], sec, e[rows], promo, disc
                    )
                    p, amt, mth, ok = self.pay_order(ch[rows], idx, renew_to[rows], day[go], sec, total)
                    next_day[rows], next_kind[rows] = day[go], 1
                    next_pay[rows], next_amt[rows], next_method[rows], next_unpaid[rows] = p, amt, mth, ~ok
                # renewing after the horizon: nothing more to tell
                lapsed[nt[~renews]] = True
                # some non-renewers say so: a cancellation effective at the term end
                dnr = nt[~renews & (rng.random(len(nt)) < 0.1)]
                ask = self.between(np.maximum(e[dnr] - 45, s[dnr]), e[dnr] - 1)
                ok = ask <= end
                self.cancel(ch[dnr[ok]], ask[ok], np.maximum(e[dnr[ok]], ask[ok]))
                lapsed[dnr] = False

            # -- lapsed chains come back now and then: a reactivation with a new anchor
            lp = np.flatnonzero(lapsed & ~st["unpaid"][ch] & (renew_to >= 0))
            back = lp[rng.random(len(lp)) < 0.06]
            day = e[back] + rng.integers(30, 201, size=len(back))
            back, day = back[day <= end], day[day <= end]
            if len(back):
                auto = self.chain_mode[ch[back]] == AUTOCHARGE
                self.chain_token[ch[back[auto]]] = self.new_tokens(int(auto.sum()))
                sec = self.clock(len(back), 7, 22)
                idx, total = self.order(
                    ch[back], np.full(len(back), REACTIVATION), renew_to[back], day, sec, day, _P["WINBACK"]
                )
                p, amt, mth, ok = self.pay_order(ch[back], idx, renew_to[back], day, sec, total)
                next_day[back], next_kind[back] = day, 2
                next_pay[back], next_amt[back], next_method[back], next_unpaid[back] = p, amt, mth, ~ok

            # -- move every continuing chain to its next term
            go = next_day >= 0
            alive[ch[~go]] = False
            c = ch[go]
            new_anchor = next_kind[go] == 2
            length = cat.offer_length[o[go]]
            months = np.where(cat.offer_unit[o[go]] == ISSUES, 0, length)
            st["cum"][c] = np.where(new_anchor, 0, st["cum"][c] + months)
            st["anchor"][c] = np.where(new_anchor, next_day[go], st["anchor"][c])
            st["s"][c] = np.where(new_anchor, next_day[go], e[go])
            st["offer"][c] = next_offer[go]
            st["k"][c] += 1
            st["ord_day"][c] = next_day[go]
            st["pay_idx"][c] = next_pay[go]
            st["pay_amt"][c] = next_amt[go]
            st["pay_method"][c] = next_method[go]
            st["unpaid"][c] = next_unpaid[go]
            st["e"][c] = cat.term_end(st["offer"][c], st["s"][c], st["anchor"][c], st["cum"][c])

    def autocharge(self, chains: np.ndarray, e: np.ndarray, renew_to: np.ndarray, term: np.ndarray):
        """Processor answers for up to three attempts; returns the settled day/payment/amount per chain,
        the day of a rescue renewal order (-1: none) and whether the chain lapsed."""
        rng, cat, end = self.rng, self.cat, self.end
        n = len(chains)
        first = e - AUTOCHARGE_LEAD_DAYS
        price = cat.price_at(renew_to, first)
        amount = price + (price * self.chain_tax[chains] + 5000) // 10000
        fails = rng.random((n, 3)) < AUTOCHARGE_FAILURE_P
        success_at = np.where(fails.all(axis=1), 3, np.argmin(fails, axis=1))
        ok_day = np.full(n, -1, dtype=I64)
        ok_pay = np.full(n, -1, dtype=I64)
        for attempt, offset in enumerate(AUTOCHARGE_OFFSETS):
            day = first + offset
            made = (attempt <= success_at) & (day <= end)
            settled = made & (success_at == attempt)
            idx = self.payments.add(
                cust=self.chain_cust[chains[made]],
                day=day[made],
                sec=self.clock(int(made.sum()), 6, 7),
                amount=amount[made],
                cur=cat.offer_currency[renew_to[made]],
                method=CARD,
                status=np.where(settled[made], SETTLED, FAILED),
                ac_chain=chains[made],
                ac_term=term[made],
                ac_attempt=attempt + 1,
            )
            pos = np.flatnonzero(made)
            ok_day[pos[settled[made]]] = day[settled]
            ok_pay[pos[settled[made]]] = idx[settled[made]]
        last_fail = first + AUTOCHARGE_OFFSETS[-1]
        all_failed = (success_at == 3) & (last_fail <= end)
        rescue_day = last_fail + rng.integers(1, 21, size=n)
        rescued = all_failed & (rng.random(n) < 0.35) & (rescue_day <= end)
        return (
            ok_day,
            ok_pay,
            np.where(ok_day >= 0, amount, 0),
            np.where(rescued, rescue_day, -1),
            all_failed & ~rescued,
        )

    def cancel(self, chains: np.ndarray, day: np.ndarray, eff: np.ndarray) -> None:
        rng = self.rng
        m = len(chains)
        reason = rng.choice([0, 1, 2, 3, 5], size=m, p=(0.3, 0.2, 0.08, 0.12, 0.3))
        reason = np.where(self.people.deceased[self.chain_cust[chains]], 4, reason)
        self.cancellations.add(chain=chains, day=day, sec=self.clock(m, 8, 21), eff=eff, reason=reason)

    def refund(self, chains: np.ndarray, day: np.ndarray) -> None:
        """The legacy processor's answer to a full refund (cancelled inside the policy's full-refund window)
        requested before the cut-over. From the cut-over on, the pipeline requests every refund and the sample
        processor answers the requests file (``lifecycle.generator.processor``), prorated ones included."""
        st = self.state
        m = len(chains)
        when = day + self.rng.integers(3, 7, size=m)  # after the cancellation is recorded (at most 2 days late)
        legacy = day < self.cutover
        self.awaiting_refund.append(st["pay_idx"][chains][~legacy])
        ok = (when <= self.end) & legacy
        orig = st["pay_idx"][chains][ok]
        self.payments.add(
            cust=self.chain_cust[chains[ok]],
            day=when[ok],
            sec=self.clock(int(ok.sum()), 8, 20),
            amount=st["pay_amt"][chains][ok],
            cur=self.cat.offer_currency[st["offer"][chains[ok]]],
            method=st["pay_method"][chains][ok],
            status=REFUNDED,
            orig=orig,
        )
        st["pay_idx"][chains] = -1  # never refunded twice, never charged back after a refund

    def ship(self, offer: np.ndarray, s: np.ndarray, anchor: np.ndarray, cum: np.ndarray, stop: np.ndarray) -> None:
        """Continuity volumes and goods shipped by these terms (for stock receipts)."""
        cat = self.cat
        shipped = cat.offer_unit[offer] == SHIPMENTS
        if not shipped.any():
            return
        sku = np.where(cat.offer_plan[offer] == PLAN_INDEX["TOTE"], 1, 0)
        for j in range(int(cat.offer_length[offer][shipped].max())):
            day = add_months(anchor, cum + j)
            ok = shipped & (j < cat.offer_length[offer]) & (day < stop) & (day <= self.end) & (day >= s)
            for k in (0, 1):
                self.shipments.append((k, day[ok & (sku == k)]))

    # --- after the chains -----------------------------------------------------------------
    def chargebacks(self) -> None:
        rng = self.rng
        pay = self.payments.arrays()
        refunded = np.zeros(len(pay["day"]), dtype=bool)
        refunded[pay["orig"][pay["orig"] >= 0]] = True
        awaiting = np.concatenate([np.zeros(0, dtype=I64), *self.awaiting_refund])
        refunded[awaiting[awaiting >= 0]] = True  # the processor will refund these: never charged back
        card = np.flatnonzero((pay["method"] == CARD) & (pay["status"] == SETTLED) & ~refunded)
        hit = card[rng.random(len(card)) < 0.005]
        day = pay["day"][hit] + rng.integers(20, 76, size=len(hit))
        hit, day = hit[day <= self.end], day[day <= self.end]
        self.payments.add(
            cust=pay["cust"][hit],
            day=day,
            sec=self.clock(len(hit), 8, 20),
            amount=pay["amount"][hit],
            cur=pay["cur"][hit],
            method=CARD,
            status=CHARGEBACK,
            orig=hit,
        )

    def unapplied_cash(self) -> None:
        """Checks that name no order: the pipeline applies them to open invoices or holds them as credit."""
        rng = self.rng
        cust = np.flatnonzero(rng.random(self.people.n) < 0.004)
        day = self.between(self.acq[cust], np.full(len(cust), self.end))
        cur = np.array([CURRENCIES.index(_currency(c)) for c in COUNTRIES])[self.people.country[cust]]
        self.payments.add(
            cust=cust,
            day=day,
            sec=self.clock(len(cust), 9, 17),
            amount=rng.integers(5, 151, size=len(cust)) * 100,
            cur=cur,
            method=CHECK,
            status=SETTLED,
            mailed=True,
        )

    def interactions(self, cancellations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rng, end = self.rng, self.end
        table = Table(cust=I64(-1), chain=I64(-1), day=I64(0), sec=I64(0), channel=I64(0), topic=I64(0), note=I64(0))
        # a contact behind half of the cancellations
        with_call = rng.random(len(cancellations["chain"])) < 0.5
        ch = cancellations["chain"][with_call]
        table.add(
            cust=self.chain_cust[ch],
            chain=ch,
            day=cancellations["day"][with_call],
            sec=cancellations["sec"][with_call],
            channel=rng.choice(4, size=len(ch), p=(0.5, 0.3, 0.15, 0.05)),
            topic=3,
            note=rng.integers(0, len(NOTES), size=len(ch)),
        )
        # everyday contacts: ~0.3 a year per customer
        years = (end - self.acq + 1) / 365.25
        count = rng.poisson(0.3 * years)
        cust = np.repeat(np.arange(self.people.n), count)
        day = self.between(self.acq[cust], np.full(len(cust), end))
        linked = rng.random(len(cust)) < 0.5
        table.add(
            cust=cust,
            chain=np.where(linked, cust, -1),
            day=day,
            sec=self.clock(len(cust), 8, 21),
            channel=rng.choice(4, size=len(cust), p=(0.45, 0.35, 0.15, 0.05)),
            topic=rng.choice([0, 1, 2, 5, 6], size=len(cust), p=(0.3, 0.25, 0.2, 0.1, 0.15)),
            note=rng.integers(0, len(NOTES), size=len(cust)),
        )
        return table.arrays()

    def receipts(self) -> dict[str, np.ndarray]:
        """Stock received each month for the coming month's demand; now and then late or short."""
        rng, start, end = self.rng, self.start, self.end
        table = Table(sku=I64(0), day=I64(0), qty=I64(0))
        n_months = (end - start) // 28 + 2
        months = add_months(np.full(n_months, start - _day_of_month(np.array([start]))[0]), np.arange(n_months))
        months = months[months <= end]
        for sku in (0, 1):
            parts = [d for k, d in self.shipments if k == sku]
            days = np.concatenate(parts) if parts else np.zeros(0, dtype=I64)
            bins = np.searchsorted(months, days, side="right") - 1
            demand = np.bincount(bins[bins >= 0], minlength=len(months) + 1)[: len(months) + 1]
            for i, month in enumerate(months.tolist()):
                if sku == 1 and i % 3:
                    continue  # totes arrive quarterly
                horizon = demand[i : i + (3 if sku == 1 else 1)].sum() + (demand[i + 1] if i == 0 else 0)
                qty = int(np.ceil(max(horizon, 1) * rng.uniform(1.0, 1.25) / 50.0) * 50)
                day = max(month, start) if i == 0 else month + int(rng.integers(0, 5))
                if i and rng.random() < 0.1:
                    day += int(rng.integers(10, 20))  # a late delivery: back-orders for a while
                if start <= day <= end:
                    table.add(sku=sku, day=day, qty=qty)
        return table.arrays()

    def history(self) -> History:
        self.chargebacks()
        self.unapplied_cash()
        cancellations = self.cancellations.arrays()
        return History(
            orders=self.orders.arrays(),
            payments=self.payments.arrays(),
            cancellations=cancellations,
            suspensions=self.suspensions.arrays(),
            interactions=self.interactions(cancellations),
            receipts=self.receipts(),
            chain_cust=self.chain_cust,
            chain_first_day=self.chain_first_day,
            tokens=self.tokens,
            recipients=self.recipients,
            terms=self.terms,
        )


def _lookup(values: np.ndarray, mapping: dict, default: object) -> np.ndarray:
    """``mapping[v]`` for every value, computed once per distinct value."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array([mapping.get(v, default) for v in distinct])[inverse]


def _currency(country: str) -> str:
    from lifecycle.generator.catalogue import COUNTRY_CURRENCY

    return COUNTRY_CURRENCY[country]


def _day_of_month(days: np.ndarray) -> np.ndarray:
    d = np.asarray(days, dtype=I64).astype("datetime64[D]")
    return (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(I64)


def acquisition_days(rng: np.random.Generator, n: int, start: int, end: int) -> np.ndarray:
    """First-order day per customer, sorted (customer 1 is the oldest); mild growth over the history."""
    u = rng.random(n) ** 0.85
    return np.sort(start + np.floor(u * (end - start + 1)).astype(I64).clip(0, end - start))
