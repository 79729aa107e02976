"""Stock allocation per SKU (docs/computations.md, "Continuity and stock; inventory").

Volumes and goods due on a day ship from stock; what stock cannot cover is back-ordered, and when a
receipt arrives the back-orders ship first, oldest order first, before anything due later. On one
day, receipts come in before shipments go out. A back-order waits for stock for its whole quantity
and holds up the younger ones behind it (strict order: nobody jumps the queue).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Demand:
    demand_id: str
    sku: str
    due_date: date
    ordered_date: date
    quantity: int


@dataclass(frozen=True)
class Receipt:
    receipt_id: str
    sku: str
    received_date: date
    quantity: int


@dataclass(frozen=True)
class Allocation:
    demand_id: str
    sku: str
    status: str  # shipped or back_ordered
    shipped_on: date | None


def allocate(demands: Iterable[Demand], receipts: Iterable[Receipt], business_date: date) -> list[Allocation]:
    """Each demand due by ``business_date``: shipped on which day, or still back-ordered."""
    by_sku: dict[str, tuple[list[Demand], list[Receipt]]] = {}
    for d in demands:
        if d.due_date <= business_date:
            by_sku.setdefault(d.sku, ([], []))[0].append(d)
    for r in receipts:
        if r.received_date <= business_date:
            by_sku.setdefault(r.sku, ([], []))[1].append(r)
    out: list[Allocation] = []
    for sku in sorted(by_sku):
        due, received = by_sku[sku]
        out.extend(_allocate_sku(sku, due, received))
    return out


def _allocate_sku(sku: str, due: list[Demand], received: list[Receipt]) -> list[Allocation]:
    # receipts before demands on the same day; demands by due date, then the oldest order first
    events = [(r.received_date, 0, r.receipt_id, r) for r in received]
    events += [(d.due_date, 1, (d.ordered_date, d.demand_id), d) for d in due]
    events.sort(key=lambda e: (e[0], e[1], str(e[2])))
    stock = 0
    waiting: deque[Demand] = deque()
    shipped: dict[str, date] = {}
    for day, kind, _, item in events:
        if kind == 0:
            stock += item.quantity
            # back-orders first, oldest order first
            queue = sorted(waiting, key=lambda d: (d.ordered_date, d.due_date, d.demand_id))
            waiting = deque(queue)
            while waiting and waiting[0].quantity <= stock:
                d = waiting.popleft()
                stock -= d.quantity
                shipped[d.demand_id] = day
        elif not waiting and item.quantity <= stock:
            stock -= item.quantity
            shipped[item.demand_id] = day
        else:
            waiting.append(item)
    return [
        Allocation(d.demand_id, sku, "shipped" if d.demand_id in shipped else "back_ordered",
                   shipped.get(d.demand_id))
        for d in sorted(due, key=lambda d: (d.due_date, d.ordered_date, d.demand_id))
    ]
