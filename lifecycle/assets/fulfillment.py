"""The stock engine as an asset: continuity volumes and goods shipped from stock (lifecycle/fulfillment)."""

from __future__ import annotations

from lifecycle.assets.engines import Engine, engine_assets
from lifecycle.fulfillment.relations import SHIPMENT_SCHEMA, continuity_shipments

CONTINUITY = Engine(
    name="continuity_shipments",
    inputs=("int_stock_demands", "stg_inventory_receipts"),
    # stock is allocated in order over every customer: one batch
    run=lambda settings, day, r, state: [{"shipment": continuity_shipments(day, r["int_stock_demands"],
                                                                    r["stg_inventory_receipts"])}],
    parts=("shipment",),
    schema=SHIPMENT_SCHEMA,
    description="Every stocked volume or good due by D, shipped from stock or back-ordered, back-orders first "
    "(lifecycle/fulfillment/stock.py).",
)

ENGINES = (CONTINUITY,)
FULFILLMENT_ASSETS = engine_assets(ENGINES, group="fulfillment")
