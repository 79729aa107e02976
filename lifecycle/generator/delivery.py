"""From simulated history to landing files: recorded dates, ids, contract text, planted bad rows, CSV files.

Delivery is the way a publisher moving onto the system delivers: one migration file per feed on
the cut-over date holding every row whose event date is on or before it, then one file per
transactional feed for every later date (header only when nothing happened) and reference files
only on dates when something changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lifecycle.contract import FEEDS, feed
from lifecycle.generator import text
from lifecycle.generator.calendar import SECONDS_PER_DAY, Clock, from_day
from lifecycle.generator.catalogue import CURRENCIES, ISSUES, MONTHS, Catalogue
from lifecycle.generator.people import Customers, addresses
from lifecycle.generator.simulation import (
    ACH,
    BANK_TRANSFER,
    CHANNELS,
    CHARGEBACK,
    CHECK,
    GIFT,
    METHODS,
    NEW,
    NOTES,
    ORDER_TYPES,
    PAYMENT_TERMS,
    PAYPAL,
    PROMOS,
    REASONS,
    REFUNDED,
    SKUS,
    STATUSES,
    TOPICS,
    History,
)

TRANSACTIONAL = tuple(f.name for f in FEEDS if f.is_event)
#: Column holding each event feed's id, and the column dated by the event (checked against the file date).
EVENT_ID = {f.name: f.key[0] for f in FEEDS if f.is_event}
EVENT_TIME = {
    "orders": "ordered_at",
    "payments": "paid_at",
    "cancellations": "requested_at",
    "interactions": "occurred_at",
    "inventory_receipts": "received_date",
    "service_actions": "action_at",
    "manual_journals": "entry_date",
}
ID_FORMAT = {
    "orders": ("O", 9),
    "payments": ("P", 9),
    "cancellations": ("X", 7),
    "suspensions": ("H", 7),
    "interactions": ("I", 8),
    "inventory_receipts": ("R", 6),
    "service_actions": ("SA", 7),
}
SERVICE_ACTIONS_PER_WEEK = 5  # and one more per 200 subscriptions
SERVICE_REASONS = ("missing_copy", "damaged_copy", "late_delivery", "service_failure", "billing_error",
                   "retention", "other")
SERVICE_NOTES = ("", "Apologised on the phone.", "Second complaint this year.", "Copy arrived torn.")
ACCRUAL_ACCOUNTS = ("6300", "2100")  # printing and postage expense; accrued liabilities
SUBSCRIPTION_FORMAT = ("S", 8)
ADDRESS_CHANGE_RATE = 0.0003  # per customer and day after the cut-over


@dataclass
class FeedRows:
    """One feed's good rows: raw (unquoted) text per contract column, recorded day and sort keys."""

    name: str
    columns: dict[str, pa.Array]
    recorded: np.ndarray
    k1: np.ndarray  # event time (seconds) — rows are written by recorded date, event time, id
    k2: np.ndarray  # id number (or row ordinal)
    meta: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.recorded)


@dataclass
class BadRow:
    feed: str
    recorded: int
    k1: int
    k2: int
    values: dict[str, str]
    column: str
    rule: str
    event_id: str


def _lag(rng: np.random.Generator, n: int, p: tuple[float, ...]) -> np.ndarray:
    return rng.choice(len(p), size=n, p=p)


def _recorded(day: np.ndarray, lag: np.ndarray, cutover: int) -> np.ndarray:
    """Migration rows on the cut-over date; later events on their day, now and then a day or two late."""
    return np.where(day <= cutover, cutover, day + lag)


def _number(keep: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """1-based id numbers of the kept rows in the order of ``keys`` (first key most significant); 0 if dropped."""
    rows = np.flatnonzero(keep)
    order = np.lexsort(tuple(k[rows] for k in reversed(keys)))
    number = np.zeros(len(keep), dtype=np.int64)
    number[rows[order]] = np.arange(1, len(rows) + 1)
    return number


class Builder:
    def __init__(
        self,
        rng: np.random.Generator,
        cat: Catalogue,
        people: Customers,
        acquisition: np.ndarray,
        history: History,
        clock: Clock,
        cutover: int,
        end: int,
    ) -> None:
        self.rng, self.cat, self.people, self.h, self.clock = rng, cat, people, history, clock
        self.cutover, self.end = cutover, end
        self.acq = acquisition
        self.cust_width = max(7, len(str(people.n)) + 1)
        self.cust_rec = np.maximum(acquisition, cutover)
        self.feeds: dict[str, FeedRows] = {}

    def customer_ids(self, cust: np.ndarray) -> pa.Array:
        return text.padded("C", np.asarray(cust) + 1, self.cust_width)

    # --- customers and their address changes -------------------------------------------------
    def address_changes(self) -> tuple[np.ndarray, np.ndarray]:
        rng = self.rng
        cust_parts, day_parts = [], []
        for d in range(self.cutover + 1, self.end + 1):
            eligible = int(np.searchsorted(self.cust_rec, d, side="left"))  # recorded in an earlier file
            if eligible == 0:
                continue
            count = int(rng.binomial(eligible, ADDRESS_CHANGE_RATE))
            if d == self.cutover + 1:
                count = max(count, 1)
            who = np.sort(rng.choice(eligible, size=min(count, eligible), replace=False))
            cust_parts.append(who)
            day_parts.append(np.full(len(who), d))
        if not cust_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(cust_parts).astype(np.int64), np.concatenate(day_parts).astype(np.int64)

    def customers(self, moved: np.ndarray, moved_day: np.ndarray) -> None:
        people = self.people
        n = people.n
        new = addresses(self.rng, people.country[moved])
        take = pa.array(moved)
        columns = {"customer_id": pa.concat_arrays([self.customer_ids(np.arange(n)), self.customer_ids(moved)])}
        replaced = {
            "address_line1": new.address_line1,
            "address_line2": new.address_line2,
            "city": new.city,
            "region": new.region,
            "postal_code": new.postal_code,
            "undeliverable": text.repeat("false", len(moved)),
        }
        for name in feed("customers").column_names[1:]:
            original = people.text[name]
            columns[name] = pa.concat_arrays([original, replaced.get(name, original.take(take))])
        recorded = np.concatenate([self.cust_rec, moved_day])
        version = np.concatenate([np.zeros(n, dtype=np.int64), np.arange(1, len(moved) + 1)])
        self.feeds["customers"] = FeedRows(
            "customers", columns, recorded, np.concatenate([np.arange(n), moved]), version
        )

    # --- events ------------------------------------------------------------------------------
    def orders(self) -> None:
        o, rng, cut, end = self.h.orders, self.rng, self.cutover, self.end
        n = len(o["day"])
        rec = _recorded(o["day"], _lag(rng, n, (0.95, 0.035, 0.015)) * o["lag_ok"], cut)
        rec = np.maximum(rec, self.cust_rec[o["cust"]])
        first = np.isin(o["otype"], (NEW, GIFT))
        chains = len(self.h.chain_cust)
        self.chain_rec = np.full(chains, np.iinfo(np.int64).max // 4, dtype=np.int64)
        self.chain_rec[o["chain"][first]] = rec[first]
        rec = np.maximum(rec, self.chain_rec[o["chain"]])
        keep = rec <= end
        number = _number(keep, o["day"], o["sec"], o["chain"], np.arange(n))
        self.order_rec, self.order_number = rec, number
        first_keep = first & keep
        sub = np.zeros(chains, dtype=np.int64)
        fk = np.flatnonzero(first_keep)
        order = np.lexsort((o["chain"][fk], o["sec"][fk], o["day"][fk]))
        sub[o["chain"][fk][order]] = np.arange(1, len(fk) + 1)
        self.sub_number = sub
        self.sub_ids = text.padded(*SUBSCRIPTION_FORMAT[:1], sub, SUBSCRIPTION_FORMAT[1])

        k = np.flatnonzero(keep)
        g = {key: v[k] for key, v in o.items()}
        recip_idx = g["recip"]
        gift_rows = recip_idx >= 0
        recip = self.recipients()
        take = pa.array(np.where(gift_rows, recip_idx, 0))

        def ship_to(col: pa.Array) -> pa.Array:
            return text.where(gift_rows, col.take(take))

        cat = self.cat
        columns = {
            "order_id": text.padded("O", number[k], 9),
            "customer_id": self.customer_ids(g["cust"]),
            "subscription_id": self.sub_ids.take(pa.array(g["chain"])),
            "ordered_at": self.clock.timestamps(g["day"], g["sec"]),
            "order_type": text.choose(ORDER_TYPES, g["otype"]),
            "offer_id": text.choose(cat.offer_ids, g["offer"]),
            "quantity": text.integers(g["qty"]),
            "unit_price": text.money(g["unit"]),
            "discount": text.money(g["disc"]),
            "tax_rate": _rates(g["tax_e4"]),
            "tax_amount": text.money(g["tax"]),
            "currency": text.choose(CURRENCIES, cat.offer_currency[g["offer"]]),
            "service_start": self.clock.dates(g["svc"]),
            "autorenew": text.booleans(g["autorenew"]),
            "payment_method_token": text.where(
                g["token"] >= 0, self.tokens().take(pa.array(np.maximum(g["token"], 0)))
            ),
            "payment_terms": text.choose(PAYMENT_TERMS, g["terms"]),
            "ship_to_name": ship_to(recip["name"]),
            "ship_to_address_line1": ship_to(recip["address_line1"]),
            "ship_to_address_line2": ship_to(recip["address_line2"]),
            "ship_to_city": ship_to(recip["city"]),
            "ship_to_region": ship_to(recip["region"]),
            "ship_to_postal_code": ship_to(recip["postal_code"]),
            "ship_to_country": ship_to(recip["country"]),
            "promotion_code": text.choose((*PROMOS, ""), np.where(g["promo"] >= 0, g["promo"], len(PROMOS))),
        }
        self.feeds["orders"] = FeedRows(
            "orders", columns, rec[k], g["day"] * SECONDS_PER_DAY + g["sec"], number[k], meta={"otype": g["otype"]}
        )

    def recipients(self) -> dict[str, pa.Array]:
        if not hasattr(self, "_recipients"):
            from lifecycle.generator.people import full_names, names

            gifts = self.h.orders["otype"] == GIFT
            count = self.h.recipients
            country = np.zeros(count, dtype=np.int64)
            country[self.h.orders["recip"][gifts]] = self.people.country[self.h.orders["cust"][gifts]]
            first, last = names(self.rng, count)
            a = addresses(self.rng, country)
            self._recipients = {
                "name": full_names(first, last),
                "address_line1": a.address_line1,
                "address_line2": a.address_line2,
                "city": a.city,
                "region": a.region,
                "postal_code": a.postal_code,
                "country": a.country,
            }
        return self._recipients

    def tokens(self) -> pa.Array:
        if not hasattr(self, "_tokens"):
            self._tokens = text.join("tok_", text.hex_text(self.rng, self.h.tokens, 12))
        return self._tokens

    def payments(self) -> None:
        p, rng, cut, end = self.h.payments, self.rng, self.cutover, self.end
        n = len(p["day"])
        lag = np.where(p["mailed"], _lag(rng, n, (0.7, 0.2, 0.1)), 0)  # checks arrive by mail
        rec = _recorded(p["day"], lag, cut)
        rec = np.maximum(rec, self.cust_rec[p["cust"]])
        has_order = p["order"] >= 0
        rec[has_order] = np.maximum(rec[has_order], self.order_rec[p["order"][has_order]])
        reversal = p["orig"] >= 0
        rec[reversal] = np.maximum(rec[reversal], rec[p["orig"][reversal]])  # originals are never reversals
        keep = rec <= end
        number = _number(keep, p["day"], p["sec"], np.arange(n))
        k = np.flatnonzero(keep)
        g = {key: v[k] for key, v in p.items()}
        payment_ids = text.padded("P", number, 9)  # by original row, for original_payment_id
        method, status = g["method"], g["status"]
        m = len(k)
        prefix = np.where(status == REFUNDED, 1, np.where(status == CHARGEBACK, 2, 0))
        card = text.join(text.choose(("ch_", "re_", "dp_"), prefix), text.hex_text(rng, m, 12))
        paypal = text.join("PAYID-", text.hex_text(rng, m, 10, upper=True))
        ach = text.join("ACH", text.digit_text(rng, m, 10))
        check = text.join("CHK", text.digit_text(rng, m, 6))
        transfer = text.join("BT", text.digit_text(rng, m, 10))
        reference = card
        for code, values in ((PAYPAL, paypal), (ACH, ach), (CHECK, check), (BANK_TRANSFER, transfer)):
            reference = pc.if_else(pa.array(method == code), values, reference)
        ac = g["ac_chain"] >= 0
        keys = self.autocharge_keys(g["ac_chain"][ac], g["ac_term"][ac], g["ac_attempt"][ac])
        key_col = text.empty(m)
        if ac.any():
            full = np.zeros(m, dtype=np.int64)
            full[ac] = np.arange(int(ac.sum()))
            key_col = text.where(ac, keys.take(pa.array(full)))
        columns = {
            "payment_id": payment_ids.take(pa.array(k)),
            "customer_id": self.customer_ids(g["cust"]),
            "invoice_id": text.empty(m),
            "order_id": text.where(g["order"] >= 0, text.padded("O", self.order_number[np.maximum(g["order"], 0)], 9)),
            "paid_at": self.clock.timestamps(g["day"], g["sec"]),
            "amount": text.money(g["amount"]),
            "currency": text.choose(CURRENCIES, g["cur"]),
            "method": text.choose(METHODS, method),
            "status": text.choose(STATUSES, status),
            "original_payment_id": text.where(g["orig"] >= 0, payment_ids.take(pa.array(np.maximum(g["orig"], 0)))),
            "processor_reference": reference,
            "autocharge_request_key": key_col,
        }
        self.feeds["payments"] = FeedRows("payments", columns, rec[k], g["day"] * SECONDS_PER_DAY + g["sec"], number[k])

    def autocharge_keys(self, chain: np.ndarray, term: np.ndarray, attempt: np.ndarray) -> pa.Array:
        """``keys.autocharge_request_key`` for many rows at once (same sha256 recipe, computed by DuckDB)."""
        table = pa.table(
            {"i": np.arange(len(chain)), "sub": self.sub_ids.take(pa.array(chain)), "term": term, "attempt": attempt}
        )
        with duckdb.connect() as con:
            con.register("requests", table)
            out = con.sql(
                "select 'AC-' || upper(substr(sha256('autocharge|' || sub || '|' || term::varchar || '|' "
                "|| attempt::varchar), 1, 20)) as k from requests order by i"
            ).to_arrow_table()
        return out.column("k").combine_chunks().cast(pa.string())

    def cancellations(self) -> None:
        c, rng, end = self.h.cancellations, self.rng, self.end
        n = len(c["day"])
        rec = np.maximum(
            _recorded(c["day"], _lag(rng, n, (0.93, 0.05, 0.02)), self.cutover), self.chain_rec[c["chain"]]
        )
        keep = rec <= end
        number = _number(keep, c["day"], c["sec"], np.arange(n))
        k = np.flatnonzero(keep)
        columns = {
            "cancellation_id": text.padded("X", number[k], 7),
            "subscription_id": self.sub_ids.take(pa.array(c["chain"][k])),
            "requested_at": self.clock.timestamps(c["day"][k], c["sec"][k]),
            "effective_date": self.clock.dates(c["eff"][k]),
            "reason": text.choose(REASONS, c["reason"][k]),
        }
        self.feeds["cancellations"] = FeedRows(
            "cancellations", columns, rec[k], c["day"][k] * SECONDS_PER_DAY + c["sec"][k], number[k]
        )

    def suspensions(self) -> None:
        s, end = self.h.suspensions, self.end
        n = len(s["day"])
        rec = np.maximum(_recorded(s["day"], np.zeros(n, dtype=np.int64), self.cutover), self.chain_rec[s["chain"]])
        keep = rec <= end
        number = _number(keep, s["day"], s["hold_from"], np.arange(n))
        k = np.flatnonzero(keep)
        columns = {
            "suspension_id": text.padded("H", number[k], 7),
            "subscription_id": self.sub_ids.take(pa.array(s["chain"][k])),
            "hold_from": self.clock.dates(s["hold_from"][k]),
            "hold_to": self.clock.dates(s["hold_to"][k]),
        }
        self.feeds["suspensions"] = FeedRows("suspensions", columns, rec[k], s["day"][k] * SECONDS_PER_DAY, number[k])

    def interactions(self, moved: np.ndarray, moved_day: np.ndarray) -> None:
        i, rng, end = self.h.interactions, self.rng, self.end
        told = rng.random(len(moved)) < 0.5  # half the movers tell customer service
        extra = {
            "cust": moved[told],
            "chain": np.full(int(told.sum()), -1),
            "day": moved_day[told],
            "sec": rng.integers(8 * 3600, 21 * 3600, size=int(told.sum())),
            "channel": rng.choice(len(CHANNELS), size=int(told.sum())),
            "topic": np.full(int(told.sum()), TOPICS.index("address_change")),
            "note": np.zeros(int(told.sum()), dtype=np.int64),
        }
        i = {key: np.concatenate([v, extra[key]]).astype(np.int64) for key, v in i.items()}
        n = len(i["day"])
        lag = np.concatenate(
            [_lag(rng, n - len(extra["day"]), (0.9, 0.07, 0.03)), np.zeros(len(extra["day"]), dtype=np.int64)]
        )
        rec = np.maximum(_recorded(i["day"], lag, self.cutover), self.cust_rec[i["cust"]])
        linked = i["chain"] >= 0
        rec[linked] = np.maximum(rec[linked], self.chain_rec[i["chain"][linked]])
        linked &= self.sub_number[np.maximum(i["chain"], 0)] > 0
        keep = rec <= end
        number = _number(keep, i["day"], i["sec"], np.arange(n))
        k = np.flatnonzero(keep)
        columns = {
            "interaction_id": text.padded("I", number[k], 8),
            "customer_id": self.customer_ids(i["cust"][k]),
            "subscription_id": text.where(linked[k], self.sub_ids.take(pa.array(np.maximum(i["chain"][k], 0)))),
            "occurred_at": self.clock.timestamps(i["day"][k], i["sec"][k]),
            "channel": text.choose(CHANNELS, i["channel"][k]),
            "topic": text.choose(TOPICS, i["topic"][k]),
            "note": text.choose(NOTES, i["note"][k]),
        }
        self.feeds["interactions"] = FeedRows(
            "interactions", columns, rec[k], i["day"][k] * SECONDS_PER_DAY + i["sec"][k], number[k]
        )

    def receipts(self) -> None:
        r = self.h.receipts
        n = len(r["day"])
        rec = _recorded(r["day"], np.zeros(n, dtype=np.int64), self.cutover)
        number = _number(rec <= self.end, r["day"], r["sku"], np.arange(n))
        columns = {
            "receipt_id": text.padded("R", number, 6),
            "sku": text.choose(SKUS, r["sku"]),
            "received_date": self.clock.dates(r["day"]),
            "quantity": text.integers(r["qty"]),
        }
        self.feeds["inventory_receipts"] = FeedRows(
            "inventory_receipts", columns, rec, r["day"] * SECONDS_PER_DAY, number
        )

    def service_actions(self) -> None:
        """A few actions a week after the cut-over (the legacy system's are in its balances): print subscribers get
        free issues or a reship of the last issue shipped, others free days of access, anyone a goodwill credit."""
        rng, cut, end = self.rng, self.cutover, self.end
        o = self.h.orders
        first = np.isin(o["otype"], (NEW, GIFT)) & (self.order_rec <= end)
        chain, offer, known = o["chain"][first], o["offer"][first], self.order_rec[first]
        days = np.arange(cut + 1, end + 1)
        rate = (SERVICE_ACTIONS_PER_WEEK + len(chain) / 200) / 7
        count = rng.poisson(rate, size=len(days))
        day = np.repeat(days, count)
        n = len(day)
        pick = np.zeros(n, dtype=np.int64)
        keep = np.zeros(n, dtype=bool)
        for i, d in enumerate(day.tolist()):  # a subscription known before that day
            able = np.flatnonzero(known < d)
            if len(able):
                pick[i], keep[i] = able[int(rng.integers(0, len(able)))], True
        day, pick = day[keep], pick[keep]
        n = len(day)
        sec = rng.integers(9 * 3600, 17 * 3600, size=n)
        unit = self.cat.offer_unit[offer[pick]]
        # in turn, so that even a small sample has each: print subscriptions a reship, free issues, a goodwill
        # credit; month subscriptions free days, a goodwill credit; others a goodwill credit
        printed = unit == ISSUES
        turn = np.zeros(n, dtype=np.int64)
        turn[printed] = np.arange(int(printed.sum()))
        turn[~printed] = np.arange(int((~printed).sum()))
        kind = np.where(printed, np.array([1, 0, 2])[turn % 3],
                        np.where((unit == MONTHS) & (turn % 2 == 0), 0, 2))
        issues = [(date.fromisoformat(r["ship_date"]), r["issue_id"])
                  for r in self.cat.feeds["issue_schedules"].rows]
        issues.sort()
        reship_issue = []
        for d, k in zip(day.tolist(), kind.tolist(), strict=True):
            shipped = [i for s_day, i in issues if s_day < from_day(d)]
            reship_issue.append(shipped[-1] if k == 1 and shipped else "")
        kind = np.where((kind == 1) & np.array([r == "" for r in reship_issue], dtype=bool), 2, kind)
        number = _number(np.ones(n, dtype=bool), day, sec, np.arange(n))
        cur = np.array(CURRENCIES)[self.cat.offer_currency[offer[pick]]]
        amount = rng.integers(5, 26, size=n) * 100
        reason = np.where(kind == 1, rng.integers(0, 2, size=n),  # missing or damaged; late or failed; …
                          np.where(kind == 0, rng.choice([2, 3], size=n), rng.choice([3, 4, 5], size=n)))
        ext_issues = np.where(unit == ISSUES, rng.integers(1, 3, size=n), 0)
        ext_days = rng.choice([7, 14, 30], size=n)
        columns = {
            "service_action_id": text.padded("SA", number, 7),
            "customer_id": self.customer_ids(self.h.chain_cust[chain[pick]]),
            "subscription_id": text.where(kind != 2, self.sub_ids.take(pa.array(chain[pick]))),
            "action_type": text.choose(("complimentary_extension", "reship", "goodwill_credit"), kind),
            "action_at": self.clock.timestamps(day, sec),
            "issues": text.where((kind == 0) & (ext_issues > 0), text.integers(ext_issues)),
            "days": text.where((kind == 0) & (ext_issues == 0), text.integers(ext_days)),
            "issue_id": pa.array(reship_issue, pa.string()) if n else text.empty(0),
            "amount": text.where(kind == 2, text.money(amount)),
            "currency": text.where(kind == 2, pa.array(cur.tolist(), pa.string())),
            "reason": text.choose(SERVICE_REASONS, reason),
            "note": text.choose(SERVICE_NOTES, rng.integers(0, len(SERVICE_NOTES), size=n)),
        }
        self.feeds["service_actions"] = FeedRows(
            "service_actions", columns, day.astype(np.int64), day * SECONDS_PER_DAY + sec, number
        )

    def manual_journals(self) -> None:
        """Finance's month-end accrual of printing and postage (Dr 6300, Cr 2100, in USD) on the last day of every
        month after the cut-over, reversed on the first day of the next."""
        rng, cut, end = self.rng, self.cutover, self.end
        rows: list[tuple[int, str, int, str, int, int, str]] = []  # day, entry, line, account, debit, credit, memo
        d = cut + 1
        while d <= end:
            if from_day(d + 1).day == 1:
                month = from_day(d).strftime("%Y-%m")
                cents = int(rng.integers(150_000, 400_000))
                memo = f"Printing and postage accrual {month}"
                rows += [(d, f"MJ-{month}-ACCR", 1, ACCRUAL_ACCOUNTS[0], cents, 0, memo),
                         (d, f"MJ-{month}-ACCR", 2, ACCRUAL_ACCOUNTS[1], 0, cents, memo)]
                if d + 1 <= end:
                    memo = f"Reversal of the printing and postage accrual {month}"
                    rows += [(d + 1, f"MJ-{month}-REV", 1, ACCRUAL_ACCOUNTS[1], cents, 0, memo),
                             (d + 1, f"MJ-{month}-REV", 2, ACCRUAL_ACCOUNTS[0], 0, cents, memo)]
            d += 1
        n = len(rows)
        day = np.array([r[0] for r in rows], dtype=np.int64)
        debit = np.array([r[4] for r in rows], dtype=np.int64)
        credit = np.array([r[5] for r in rows], dtype=np.int64)
        columns = {
            "entry_id": pa.array([r[1] for r in rows], pa.string()),
            "line_number": text.integers(np.array([r[2] for r in rows], dtype=np.int64)),
            "entry_date": self.clock.dates(day),
            "account_code": pa.array([r[3] for r in rows], pa.string()),
            "debit": text.where(debit > 0, text.money(debit)),
            "credit": text.where(credit > 0, text.money(credit)),
            "currency": text.repeat("USD", n),
            "memo": pa.array([r[6] for r in rows], pa.string()),
        }
        self.feeds["manual_journals"] = FeedRows(
            "manual_journals", columns, day, day * SECONDS_PER_DAY, np.arange(1, n + 1, dtype=np.int64)
        )

    def reference(self) -> None:
        for name, rows in self.cat.feeds.items():
            columns = {c: pa.array([r[c] for r in rows.rows], pa.string()) for c in rows.columns}
            n = len(rows.rows)
            self.feeds[name] = FeedRows(
                name,
                columns,
                np.array(rows.recorded, dtype=np.int64),
                np.zeros(n, dtype=np.int64),
                np.arange(n, dtype=np.int64),
            )

    def build(self) -> dict[str, FeedRows]:
        moved, moved_day = self.address_changes()
        self.reference()
        self.customers(moved, moved_day)
        self.orders()
        self.payments()
        self.cancellations()
        self.suspensions()
        self.interactions(moved, moved_day)
        self.receipts()
        self.service_actions()
        self.manual_journals()
        return {f.name: self.feeds[f.name] for f in FEEDS}


def _rates(e4: np.ndarray) -> pa.Array:
    distinct, inverse = np.unique(e4, return_inverse=True)
    labels = [f"{v // 10000}.{v % 10000:04d}" for v in distinct.tolist()]
    return text.choose(labels, inverse)
