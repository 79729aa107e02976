-- rpt_deferred_revenue_waterfall: tonight's deferred revenue by the future month it is scheduled to be
-- recognised in, per product and currency. Deliveries not yet scheduled (an issue schedule that does not reach
-- the term's end yet) are in the row with recognition_month null. Sums to the deferred-revenue balance.

with scheduled as (

    select
        product_id,
        currency,
        service_month as recognition_month,
        sum(scheduled_amount - recognised_amount - credited_amount - refunded_amount) as deferred_amount
    from {{ ref('fct_revenue_schedule') }}
    group by 1, 2, 3

),

unscheduled as (

    select
        obligations.product_id,
        obligations.currency,
        cast(null as date) as recognition_month,
        sum(obligations.amount - coalesce(schedules.scheduled, 0)) as deferred_amount
    from {{ ref('int_revenue_obligations') }} as obligations
    left join (
        select obligation_id, sum(scheduled_amount) as scheduled
        from {{ ref('fct_revenue_schedule') }}
        group by obligation_id
    ) as schedules on schedules.obligation_id = obligations.obligation_id
    group by 1, 2, 3

),

unioned as (

    select * from scheduled
    union all
    select * from unscheduled

)

select product_id, currency, recognition_month, sum(deferred_amount) as deferred_amount
from unioned
group by product_id, currency, recognition_month
having sum(deferred_amount) <> 0
