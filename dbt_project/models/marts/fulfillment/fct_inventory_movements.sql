-- fct_inventory_movements: every movement of stock per SKU by D (docs/computations.md, "Continuity and stock;
-- inventory"): receipts in (+) and the volumes and goods shipped (−) by fct_continuity_shipments. On hand =
-- the running sum, never negative.

select
    'receipt:' || receipt_id as movement_id,
    sku,
    received_date as movement_date,
    'receipt' as movement_kind,
    receipt_id as source_id,
    quantity
from {{ ref('stg_inventory_receipts') }}
where received_date <= {{ business_date() }}

union all

select
    'shipment:' || demand_id,
    sku,
    shipped_on,
    'shipment',
    demand_id,
    -quantity
from {{ ref('fct_continuity_shipments') }}
where status = 'shipped'
