-- An obligation's schedule never exceeds its amount, and sums to it exactly once it is complete: a
-- ratable term with a known end, a cancelled term (the remainder falls at S), or every delivery known.
{{ config(tags=["finance"], meta={"dagster": {"ref": {"name": "fct_revenue_schedule"}}}) }}

with schedules as (

    select obligation_id, sum(scheduled_amount) as scheduled, count(*) as lines,
        sum(case when line_kind = 'delivery' then 1 else 0 end) as deliveries
    from {{ ref('fct_revenue_schedule') }}
    group by obligation_id

),

obligations as (

    select * from {{ ref('int_revenue_obligations') }}

)

select obligations.obligation_id, obligations.revenue_method, obligations.amount, schedules.scheduled
from obligations
left join schedules on schedules.obligation_id = obligations.obligation_id
where coalesce(schedules.scheduled, 0) > obligations.amount
    or (
        (
            obligations.service_stop is not null
            or (obligations.revenue_method = 'ratable_daily' and obligations.service_end > obligations.service_start)
            or (obligations.revenue_method <> 'ratable_daily' and schedules.deliveries = obligations.delivery_count)
        )
        and coalesce(schedules.scheduled, 0) <> obligations.amount
    )
