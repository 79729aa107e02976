"""fct_continuity_shipments: every stocked volume or good due by D, shipped from stock or back-ordered.

A dbt Python model: allocation is sequential (back-orders ship first, oldest order first, when stock
arrives), so it is a tested Python function (lifecycle.fulfillment.stock).
"""

from datetime import date

import pyarrow as pa

from lifecycle.fulfillment.stock import Demand, Receipt, allocate


def model(dbt, session):
    dbt.config(materialized="table")
    business_date = date.fromisoformat(dbt.config.meta_get("business_date"))
    demands_rel = dbt.ref("int_stock_demands")
    receipts_rel = dbt.ref("stg_inventory_receipts")
    demand_rows = demands_rel.query(
        "t", "select demand_id, sku, due_date, ordered_date, quantity, obligation_id, subscription_id, customer_id, "
        "product_id, demand_kind, volume_number from t"
    ).fetchall()
    receipts = [
        Receipt(*r)
        for r in receipts_rel.query("t", "select receipt_id, sku, received_date, quantity from t").fetchall()
    ]
    demands = [Demand(r[0], r[1], r[2], r[3], r[4]) for r in demand_rows]
    allocated = {a.demand_id: a for a in allocate(demands, receipts, business_date)}
    rows = [r for r in demand_rows if r[0] in allocated]
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
