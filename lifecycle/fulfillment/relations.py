"""The glue between the warehouse and the stock engine: read relations, allocate, return an Arrow table."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from lifecycle.fulfillment.stock import Demand, Receipt, allocate


def continuity_shipments(business_date: date, demands, receipts) -> pa.Table:
    """Every stocked volume or good due by ``business_date`` (``demands``: int_stock_demands), shipped from
    stock or back-ordered against ``receipts`` (stg_inventory_receipts)."""
    demand_rows = demands.query(
        "t", "select demand_id, sku, due_date, ordered_date, quantity, obligation_id, subscription_id, customer_id, "
        "product_id, demand_kind, volume_number from t"
    ).fetchall()
    received = [
        Receipt(*r) for r in receipts.query("t", "select receipt_id, sku, received_date, quantity from t").fetchall()
    ]
    allocated = {a.demand_id: a for a in allocate([Demand(*r[:5]) for r in demand_rows], received, business_date)}
    return _shipments([r for r in demand_rows if r[0] in allocated], allocated)


def _shipments(rows: list[tuple], allocated: dict) -> pa.Table:
    return pa.table({
        "demand_id": pa.array([r[0] for r in rows], pa.string()),
        "sku": pa.array([r[1] for r in rows], pa.string()),
        "due_date": pa.array([r[2] for r in rows], pa.date32()),
        "ordered_date": pa.array([r[3] for r in rows], pa.date32()),
        "quantity": pa.array([r[4] for r in rows], pa.int64()),
        "obligation_id": pa.array([r[5] for r in rows], pa.string()),
        "subscription_id": pa.array([r[6] for r in rows], pa.string()),
        "customer_id": pa.array([r[7] for r in rows], pa.string()),
        "product_id": pa.array([r[8] for r in rows], pa.string()),
        "demand_kind": pa.array([r[9] for r in rows], pa.string()),
        "volume_number": pa.array([r[10] for r in rows], pa.int64()),
        "status": pa.array([allocated[r[0]].status for r in rows], pa.string()),
        "shipped_on": pa.array([allocated[r[0]].shipped_on for r in rows], pa.date32()),
    })


#: continuity_shipments' columns
SHIPMENT_SCHEMA = _shipments([], {}).schema
