"""Stock allocation: volumes ship from stock, back-orders ship first (oldest order first) when stock arrives."""

from datetime import date

from lifecycle.fulfillment.stock import Demand, Receipt, allocate

D = date


def test_volumes_ship_from_stock_then_wait_and_back_orders_go_first_oldest_order_first():
    receipts = [Receipt("R1", "VOL", D(2026, 1, 1), 2), Receipt("R2", "VOL", D(2026, 3, 1), 2)]
    demands = [
        Demand("A:1", "VOL", D(2026, 1, 5), D(2025, 12, 1), 1),  # from stock
        Demand("B:1", "VOL", D(2026, 1, 10), D(2025, 12, 20), 1),  # takes the last copy
        Demand("C:1", "VOL", D(2026, 2, 1), D(2026, 1, 15), 1),  # no stock: back-ordered
        Demand("D:1", "VOL", D(2026, 2, 2), D(2025, 11, 1), 1),  # back-ordered, but ordered before C
        Demand("E:1", "VOL", D(2026, 3, 1), D(2026, 2, 20), 1),  # due the day stock arrives: after the back-orders
    ]
    result = {a.demand_id: (a.status, a.shipped_on) for a in allocate(demands, receipts, D(2026, 3, 31))}
    assert result == {
        "A:1": ("shipped", D(2026, 1, 5)),
        "B:1": ("shipped", D(2026, 1, 10)),
        "D:1": ("shipped", D(2026, 3, 1)),  # the oldest order first
        "C:1": ("shipped", D(2026, 3, 1)),
        "E:1": ("back_ordered", None),
    }


def test_nothing_due_after_the_night_and_on_hand_never_negative():
    receipts = [Receipt("R1", "TOTE", D(2026, 1, 1), 1), Receipt("R9", "TOTE", D(2026, 5, 1), 10)]
    demands = [Demand("T:1", "TOTE", D(2026, 1, 2), D(2026, 1, 2), 2), Demand("U:1", "TOTE", D(2026, 6, 1), D(2026, 1, 2), 1)]
    result = allocate(demands, receipts, D(2026, 2, 1))
    # two wanted, one in stock: the whole quantity waits; the receipt of May and the June demand are after D
    assert [(a.demand_id, a.status) for a in result] == [("T:1", "back_ordered")]
