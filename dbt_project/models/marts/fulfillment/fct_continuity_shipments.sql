-- Every stocked volume or good due by D, shipped from stock or back-ordered, as the stock engine wrote it
-- (lifecycle/assets/fulfillment.py runs lifecycle/fulfillment/stock.py over int_stock_demands and
-- stg_inventory_receipts). Allocation is sequential: back-orders ship first, oldest order first, when stock
-- arrives.
select * from {{ source('engine', 'continuity_shipments') }}
