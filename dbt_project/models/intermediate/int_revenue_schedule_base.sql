-- int_revenue_schedule_base: when each performance obligation is recognised (docs/computations.md,
-- "Revenue: earned and deferred"), before credit notes: fct_revenue_schedule splits the cancellation rows
-- of terms cancelled for nonpayment into the part a credit note takes and the part recognised at S.
--   ratable        one row per calendar month the service overlaps: whole days over [start, end),
--                  month overlaps computed directly (never one row per day); a term whose end a hold moved
--                  keeps what it earned before each move and spreads the rest (int_ratable_segments)
--   delivery       one row per issue or volume delivered before the service stop, or the shipment
--                  (int_obligation_deliveries)
--   cancellation   at the service stop S of a cancelled term: the deferred remainder, recognised at S
--                  (refunds and credit notes, when they come, take their part of it first)
-- Every split is rounded cumulatively in integer cents (round the running total, take differences), so an
-- obligation's rows sum to its amount to the cent. scheduled_amount is the whole plan; recognised_amount is
-- what is earned as of the business date (the month of D month-to-date through D).

with obligations as (

    select * from {{ ref('int_revenue_obligations') }}

),

through_d as (

    select cast({{ dbt.dateadd('day', 1, business_date()) }} as date) as day_after

),

ratable as (

    select
        obligations.*,
        coalesce(service_stop, service_end) as stop_date
    from obligations
    where revenue_method = 'ratable_daily' and service_end is not null and service_end > service_start

),

ratable_segments as (

    -- one segment over the term, or, for a term whose end a hold moved, one per end it had
    select
        ratable.obligation_id,
        ratable.service_start,
        ratable.stop_date,
        coalesce(moved.segment_number, 0) as segment_number,
        coalesce(moved.segment_from, ratable.service_start) as segment_from,
        moved.segment_to,
        coalesce(moved.segment_end, ratable.service_end) as segment_end,
        ratable.amount_cents,
        coalesce(moved.earned_before_cents, 0) as earned_before_cents
    from ratable
    left join {{ ref('int_ratable_segments') }} as moved on moved.obligation_id = ratable.obligation_id

),

ratable_months as (

    -- each month the service overlaps, in the segment holding its last day served
    select
        ratable_segments.*,
        months.month_start as service_month,
        least(ratable_segments.stop_date, months.next_month_start) as month_through,
        greatest(least(ratable_segments.stop_date, months.next_month_start, through_d.day_after),
            ratable_segments.segment_from) as to_date_through
    from ratable_segments
    cross join through_d
    inner join {{ ref('int_month_spine') }} as months
        on months.month_start < ratable_segments.stop_date
        and months.next_month_start > ratable_segments.service_start
        and {{ ratable_segment_holds('ratable_segments', 'least(ratable_segments.stop_date, months.next_month_start)') }}

),

ratable_cumulative as (

    select
        obligation_id,
        service_month,
        cast({{ dbt.dateadd('day', -1, 'month_through') }} as date) as recognition_date,
        {{ ratable_earned_cents('amount_cents', 'earned_before_cents', 'segment_from', 'segment_end',
            'month_through') }} as cumulative_cents,
        {{ ratable_earned_cents('amount_cents', 'earned_before_cents', 'segment_from', 'segment_end',
            'to_date_through') }} as cumulative_recognised_cents
    from ratable_months

),

ratable_rows as (

    select
        obligation_id,
        'ratable' as line_kind,
        cast(null as integer) as delivery_number,
        service_month,
        recognition_date,
        cumulative_cents - coalesce(
            lag(cumulative_cents) over (partition by obligation_id order by service_month), 0) as scheduled_cents,
        cumulative_recognised_cents - coalesce(
            lag(cumulative_recognised_cents) over (partition by obligation_id order by service_month), 0)
            as recognised_cents
    from ratable_cumulative

),

served_deliveries as (

    -- the deliveries made before the service stop
    select deliveries.*
    from {{ ref('int_obligation_deliveries') }} as deliveries
    inner join obligations on obligations.obligation_id = deliveries.obligation_id
    where obligations.service_stop is null or deliveries.delivery_date < obligations.service_stop

),

delivery_rows as (

    select
        obligation_id,
        'delivery' as line_kind,
        delivery_number,
        cast({{ dbt.date_trunc('month', 'delivery_date') }} as date) as service_month,
        delivery_date as recognition_date,
        cumulative_cents - coalesce(
            lag(cumulative_cents) over (partition by obligation_id order by delivery_number), 0) as scheduled_cents,
        cast(null as bigint) as recognised_cents
    from served_deliveries

),

delivered_before_stop as (

    select obligation_id, max(cumulative_cents) as cumulative_cents
    from served_deliveries
    group by obligation_id

),

cancellation_rows as (

    -- the deferred remainder at S: the amount less what the served days or deliveries earned
    -- (macro deferred_remainder_cents; int_cancellation_decisions works out the same for a customer's cancellation,
    -- before cash)
    select
        obligations.obligation_id,
        'cancellation' as line_kind,
        cast(null as integer) as delivery_number,
        cast({{ dbt.date_trunc('month', 'obligations.service_stop') }} as date) as service_month,
        obligations.service_stop as recognition_date,
        {{ deferred_remainder_cents('obligations', 'delivered_before_stop.cumulative_cents', 'moved') }}
            as scheduled_cents,
        cast(null as bigint) as recognised_cents
    from obligations
    left join delivered_before_stop on delivered_before_stop.obligation_id = obligations.obligation_id
    left join {{ ref('int_ratable_segments') }} as moved
        on moved.obligation_id = obligations.obligation_id
        and {{ ratable_segment_holds('moved', 'obligations.service_stop') }}
    where obligations.service_stop is not null
        and (obligations.revenue_method <> 'ratable_daily' or obligations.service_end > obligations.service_start)

),

unioned as (

    select * from ratable_rows
    union all
    select obligation_id, line_kind, delivery_number, service_month, recognition_date, scheduled_cents,
        case when recognition_date <= {{ business_date() }} then scheduled_cents else 0 end as recognised_cents
    from delivery_rows
    union all
    select obligation_id, line_kind, delivery_number, service_month, recognition_date, scheduled_cents,
        case when recognition_date <= {{ business_date() }} then scheduled_cents else 0 end as recognised_cents
    from cancellation_rows
    where scheduled_cents <> 0

),

final as (

    select
        unioned.obligation_id || ':' || unioned.line_kind || ':'
            || case when unioned.delivery_number is not null then cast(unioned.delivery_number as {{ text_type() }})
                else cast(unioned.service_month as {{ text_type() }}) end as schedule_line_id,
        unioned.obligation_id,
        obligations.invoice_id,
        obligations.subscription_id,
        obligations.customer_id,
        obligations.product_id,
        obligations.currency,
        obligations.revenue_method,
        unioned.line_kind,
        unioned.delivery_number,
        unioned.service_month,
        unioned.recognition_date,
        unioned.scheduled_cents,
        unioned.recognised_cents,
        {{ cents_to_money('unioned.scheduled_cents') }} as scheduled_amount,
        {{ cents_to_money('unioned.recognised_cents') }} as recognised_amount
    from unioned
    inner join obligations on obligations.obligation_id = unioned.obligation_id

)

select * from final
