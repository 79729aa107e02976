-- rpt_inventory_on_hand: per stocked SKU as of D: received − shipped = on hand (never negative), what waits on a
-- back-order, and a reorder alert when on hand falls below the product's reorder point.

with movements as (

    select
        sku,
        cast(sum(case when quantity > 0 then quantity else 0 end) as bigint) as received,
        cast(-sum(case when quantity < 0 then quantity else 0 end) as bigint) as shipped
    from {{ ref('fct_inventory_movements') }}
    group by sku

),

back_orders as (

    select sku, count(*) as back_orders, cast(sum(quantity) as bigint) as back_ordered_units
    from {{ ref('fct_continuity_shipments') }}
    where status = 'back_ordered'
    group by sku

),

skus as (

    select sku, min(reorder_point) as reorder_point, {{ string_agg_ordered('product_id', "', '", 'product_id') }} as products
    from {{ ref('stg_products') }}
    where is_current and sku is not null
    group by sku

)

select
    skus.sku,
    skus.products,
    coalesce(movements.received, 0) as received,
    coalesce(movements.shipped, 0) as shipped,
    coalesce(movements.received, 0) - coalesce(movements.shipped, 0) as on_hand,
    coalesce(back_orders.back_orders, 0) as back_orders,
    coalesce(back_orders.back_ordered_units, 0) as back_ordered_units,
    skus.reorder_point,
    coalesce(movements.received, 0) - coalesce(movements.shipped, 0) < coalesce(skus.reorder_point, 0)
        as reorder_alert
from skus
left join movements on movements.sku = skus.sku
left join back_orders on back_orders.sku = skus.sku
