"""Deliberately bad rows: extra rows planted beside real ones, each breaking exactly one contract rule.

A bad row is a copy of a good row (its template) with a fresh event id (so nothing good can refer
to it) and one change that breaks one rule. A ``duplicate_id`` row is instead an exact replay of an
earlier row, in the same file or a later one (an order replayed as a renewal, so that the
"new subscription" rule, which also reports ``duplicate_id``, does not fire on another column).
"""

from __future__ import annotations

import numpy as np

from lifecycle.generator.calendar import Clock
from lifecycle.generator.delivery import (
    EVENT_ID,
    EVENT_TIME,
    ID_FORMAT,
    SUBSCRIPTION_FORMAT,
    TRANSACTIONAL,
    BadRow,
    FeedRows,
)

BAD_ROW_RATE = 1 / 200

#: The rules planted per feed (each one breaks this rule and no other).
RULES_BY_FEED: dict[str, tuple[str, ...]] = {
    "orders": (
        "invalid_date",
        "invalid_timestamp",
        "unknown_reference",
        "below_minimum",
        "duplicate_id",
        "invalid_boolean",
        "missing_value",
        "after_recorded_date",
        "not_allowed",
        "invalid_country",
    ),
    "payments": (
        "invalid_timestamp",
        "unknown_reference",
        "below_minimum",
        "unsupported_currency",
        "duplicate_id",
        "after_recorded_date",
        "not_allowed",
        "too_many_decimals",
        "invalid_decimal",
    ),
    "cancellations": (
        "invalid_date",
        "invalid_timestamp",
        "unknown_reference",
        "missing_value",
        "not_allowed",
        "duplicate_id",
        "after_recorded_date",
    ),
    "suspensions": ("invalid_date", "unknown_reference", "duplicate_id", "invalid_row"),
    "interactions": ("invalid_timestamp", "unknown_reference", "not_allowed", "duplicate_id", "after_recorded_date"),
    "service_actions": ("unknown_reference", "not_allowed", "after_recorded_date", "duplicate_id"),
    "inventory_receipts": (
        "invalid_date",
        "below_minimum",
        "invalid_integer",
        "duplicate_id",
        "missing_value",
        "after_recorded_date",
    ),
}
DATE_COLUMN = {
    "orders": "service_start",
    "cancellations": "effective_date",
    "suspensions": "hold_from",
    "inventory_receipts": "received_date",
}
MISSING_COLUMN = {"orders": "service_start", "cancellations": "effective_date", "inventory_receipts": "sku"}
NOT_ALLOWED = {
    "orders": ("payment_terms", "net_45"),
    "payments": ("method", "cash"),
    "cancellations": ("reason", "unhappy"),
    "interactions": ("channel", "fax"),
    "service_actions": ("reason", "angry"),
}


class Planter:
    def __init__(
        self,
        rng: np.random.Generator,
        clock: Clock,
        cutover: int,
        end: int,
        customer_width: int,
        feeds: dict[str, FeedRows],
    ) -> None:
        self.rng, self.clock, self.cutover, self.end = rng, clock, cutover, end
        self.unknown_customer = "C" + "9" * customer_width
        self.next_id = {name: int(feeds[name].k2.max(initial=0)) + 1 for name in TRANSACTIONAL}
        subs = feeds["orders"].columns["subscription_id"].to_pylist()
        self.next_sub = max((int(s[1:]) for s in subs), default=0) + 1
        self.feeds = feeds

    def fresh_id(self, feed: str) -> str:
        prefix, width = ID_FORMAT[feed]
        number = self.next_id[feed]
        self.next_id[feed] += 1
        return f"{prefix}{number:0{width}d}"

    def fresh_subscription(self) -> str:
        prefix, width = SUBSCRIPTION_FORMAT
        number = self.next_sub
        self.next_sub += 1
        return f"{prefix}{number:0{width}d}"

    def bad_date(self, valid: str) -> str:
        year = valid[:4] if valid else "2026"
        return str(
            self.rng.choice(
                [f"{year}-02-30", f"{year}-04-31", f"{year}-06-31", f"{year}-09-31", f"{year}-11-31", f"{year}-13-01"]
            )
        )

    def plant(self) -> list[BadRow]:
        bad: list[BadRow] = []
        bad += self.unbalanced_entry()
        for name in TRANSACTIONAL:
            if name not in RULES_BY_FEED:
                continue
            rows = self.feeds[name]
            for daily, segment in ((False, rows.recorded == self.cutover), (True, rows.recorded > self.cutover)):
                candidates = np.flatnonzero(segment)
                count = int(np.floor(len(candidates) * BAD_ROW_RATE + 0.5))
                if daily and name in ("orders", "payments") and len(candidates):
                    count = max(count, 1)  # the daily files carry bad rows even in a small sample
                if not daily and len(candidates) >= 20:
                    count = max(count, 1)  # every feed's quarantine sees at least one (receipts are few)
                count = min(count, len(candidates))
                if count == 0:
                    continue
                templates = np.sort(self.rng.choice(candidates, size=count, replace=False))
                rules = RULES_BY_FEED[name]
                first = int(self.rng.integers(0, len(rules)))
                chosen = [rules[(first + i) % len(rules)] for i in range(count)]
                chosen = [chosen[i] for i in self.rng.permutation(count)]
                values = {c: col.take(templates).to_pylist() for c, col in rows.columns.items()}
                for j, (t, rule) in enumerate(zip(templates.tolist(), chosen, strict=True)):
                    row = {c: values[c][j] for c in values}
                    bad.append(self.make(name, rule, row, int(rows.recorded[t]), int(rows.k1[t]), int(rows.k2[t])))
        return bad

    def unbalanced_entry(self) -> list[BadRow]:
        """One manual journal entry with transposed digits (Dr 2,450.00, Cr 2,540.00), recorded the day after the
        cut-over: both lines are quarantined as ``unbalanced_entry``."""
        day = self.cutover + 1
        if day > self.end:
            return []
        entry = f"MJ-{self.clock.date(day)}-ADJ"
        lines = []
        for line, (account, debit, credit) in enumerate((("6300", "2450.00", ""), ("2100", "", "2540.00")), start=1):
            values = {"entry_id": entry, "line_number": str(line), "entry_date": self.clock.date(day),
                      "account_code": account, "debit": debit, "credit": credit, "currency": "USD",
                      "memo": "Postage adjustment"}
            lines.append(BadRow("manual_journals", day, day * 86400 + 43200, 10**9 + line, values, "debit",
                                "unbalanced_entry", entry))
        return lines

    def make(self, feed: str, rule: str, v: dict[str, str], recorded: int, k1: int, k2: int) -> BadRow:
        id_column = EVENT_ID[feed]
        if rule == "duplicate_id":
            later = min(self.end, recorded + int(self.rng.integers(0, 4)))
            if feed == "orders" and v["order_type"] in ("new", "gift"):
                v["order_type"] = "renewal"  # replayed as a renewal of the subscription it started
            return BadRow(feed, later, k1, k2, v, id_column, rule, v[id_column])
        v[id_column] = self.fresh_id(feed)
        if feed == "orders" and v["order_type"] in ("new", "gift"):
            v["subscription_id"] = self.fresh_subscription()
        column = self.break_rule(feed, rule, v, recorded)
        return BadRow(feed, recorded, k1, k2, v, column, rule, v[id_column])

    def break_rule(self, feed: str, rule: str, v: dict[str, str], recorded: int) -> str:
        if rule == "invalid_date":
            column = DATE_COLUMN[feed]
            v[column] = self.bad_date(v[column])
        elif rule == "invalid_timestamp":
            column = EVENT_TIME[feed]
            v[column] = v[column][:19]  # no UTC offset
        elif rule == "unknown_reference":
            if feed in ("cancellations", "suspensions"):
                column, v["subscription_id"] = "subscription_id", "S" + "9" * SUBSCRIPTION_FORMAT[1]
            elif feed == "payments" and v["order_id"]:
                column, v["order_id"] = "order_id", "O" + "9" * ID_FORMAT["orders"][1]
            else:
                column, v["customer_id"] = "customer_id", self.unknown_customer
        elif rule == "below_minimum":
            if feed == "orders":  # a negative quantity, with amounts that keep the tax and discount rules true
                column = "quantity"
                v.update(quantity="-1", unit_price="0.00", discount="0.00", tax_amount="0.00")
            elif feed == "payments":
                column, v["amount"] = "amount", "0.00"
            else:
                column, v["quantity"] = "quantity", "-" + v["quantity"]
        elif rule == "invalid_boolean":
            column, v["autorenew"] = "autorenew", "yes"
        elif rule == "missing_value":
            column = MISSING_COLUMN[feed]
            v[column] = ""
        elif rule == "after_recorded_date":
            column = EVENT_TIME[feed]
            if feed == "inventory_receipts":
                v[column] = self.clock.date(recorded + 1)
            else:
                v[column] = self.clock.timestamp(recorded + 1, v[column][11:19])
        elif rule == "not_allowed":
            column, v[NOT_ALLOWED[feed][0]] = NOT_ALLOWED[feed]
        elif rule == "invalid_country":
            column, v["ship_to_country"] = "ship_to_country", "USA"
        elif rule == "unsupported_currency":
            column, v["currency"] = "currency", "JPY"
        elif rule == "too_many_decimals":
            column, v["amount"] = "amount", v["amount"] + "5"
        elif rule == "invalid_decimal":
            column = "amount"
            whole, cents = v["amount"].split(".")
            v["amount"] = f"{int(whole):,}.{cents}" if int(whole) >= 1000 else "NaN"
        elif rule == "invalid_integer":
            column, v["quantity"] = "quantity", v["quantity"] + ".5"
        elif rule == "invalid_row":
            column, v["hold_to"] = "hold_to", v["hold_from"]
        else:  # pragma: no cover - RULES_BY_FEED only names the rules above
            raise ValueError(rule)
        return column
