-- int_stock_demands: what must leave the warehouse, per stocked SKU (docs/computations.md, "Continuity and
-- stock; inventory"): volume k of each continuity term, due at start + (k − 1) × interval (the per_shipment
-- deliveries of the revenue schedule, so a cancelled term asks for nothing after S), and each physical good, due
-- at its service start. quantity is the term's copies; ordered_date decides who is served first from a
-- back-order.

select
    schedule.obligation_id || ':' || cast(schedule.delivery_number as {{ text_type() }}) as demand_id,
    schedule.obligation_id,
    schedule.subscription_id,
    schedule.customer_id,
    schedule.product_id,
    products.sku,
    case when schedule.revenue_method = 'per_shipment' then 'continuity_volume' else 'physical_good' end
        as demand_kind,
    schedule.delivery_number as volume_number,
    schedule.recognition_date as due_date,
    terms.ordered_date,
    terms.quantity
from {{ ref('int_revenue_schedule_base') }} as schedule
inner join {{ ref('int_revenue_obligations') }} as obligations on obligations.obligation_id = schedule.obligation_id
inner join {{ ref('int_subscription_terms') }} as terms
    on terms.subscription_id = obligations.subscription_id and terms.term_number = obligations.term_number
inner join {{ ref('stg_products') }} as products
    on products.product_id = schedule.product_id and products.is_current
where schedule.line_kind = 'delivery'
    and schedule.revenue_method in ('per_shipment', 'point_in_time')
    and products.sku is not null
