-- Shipments + back-orders = volumes and goods due by D, per SKU (docs/computations.md, "Continuity and
-- stock; inventory"): nothing due is lost.
{{ config(tags=["fulfillment"], meta={"dagster": {"ref": {"name": "fct_continuity_shipments"}}}) }}

with due as (

    select sku, count(*) as due, sum(quantity) as units
    from {{ ref('int_stock_demands') }}
    where due_date <= {{ business_date() }}
    group by sku

),

accounted as (

    select
        sku,
        count(case when status = 'shipped' then 1 end) + count(case when status = 'back_ordered' then 1 end) as due,
        sum(quantity) as units
    from {{ ref('fct_continuity_shipments') }}
    group by sku

)

select coalesce(due.sku, accounted.sku) as sku, due.due as due, accounted.due as accounted
from due
full outer join accounted on accounted.sku = due.sku
where coalesce(due.due, 0) <> coalesce(accounted.due, 0) or coalesce(due.units, 0) <> coalesce(accounted.units, 0)
