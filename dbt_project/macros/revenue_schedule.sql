{#- The revenue schedule of a set of performance obligations (docs/computations.md, "Revenue: earned and
    deferred"): see int_revenue_schedule_base. `obligations` is a relation or a parenthesised query with
    int_revenue_obligations' columns. Used by int_revenue_schedule_base (every obligation) and
    int_cancellation_decisions (the deferred remainder at a customer's cancellation, which cash application
    needs before it runs). -#}
{% macro revenue_schedule(obligations) %}
with obligations as (

    select * from {{ obligations }}

),

through_d as (

    select cast({{ dbt.dateadd('day', 1, business_date()) }} as date) as day_after

),

ratable as (

    select
        obligations.*,
        {{ dbt.datediff('service_start', 'service_end', 'day') }} as term_days,
        coalesce(service_stop, service_end) as stop_date
    from obligations
    where revenue_method = 'ratable_daily' and service_end is not null and service_end > service_start

),

ratable_months as (

    select
        ratable.obligation_id,
        ratable.amount_cents,
        ratable.term_days,
        months.month_start as service_month,
        cast({{ dbt.dateadd('day', -1, 'least(ratable.stop_date, months.next_month_start)') }} as date)
            as recognition_date,
        {{ dbt.datediff('ratable.service_start', 'least(ratable.stop_date, months.next_month_start)', 'day') }}
            as cumulative_days,
        greatest(0, {{ dbt.datediff(
            'ratable.service_start',
            'least(ratable.stop_date, months.next_month_start, through_d.day_after)',
            'day') }}) as cumulative_days_to_date
    from ratable
    cross join through_d
    inner join {{ ref('int_month_spine') }} as months
        on months.month_start < ratable.stop_date
        and months.next_month_start > ratable.service_start

),

ratable_cumulative as (

    select
        ratable_months.*,
        {{ div_round_half_up('cast(amount_cents as ' ~ wide_int() ~ ') * cumulative_days', 'term_days') }}
            as cumulative_cents,
        {{ div_round_half_up('cast(amount_cents as ' ~ wide_int() ~ ') * cumulative_days_to_date', 'term_days') }}
            as cumulative_recognised_cents
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

numbers as (

    {{ dbt.generate_series(240) }}

),

deliveries as (

    -- per_issue: the term's entitled issues; per_shipment: volume k at start + (k − 1) × interval;
    -- point_in_time: the shipment, at the service start
    select obligations.obligation_id, issues.issue_number as delivery_number, issues.ship_date as delivery_date
    from obligations
    inner join {{ ref('int_term_issues') }} as issues
        on issues.subscription_id = obligations.subscription_id
        and issues.term_number = obligations.term_number
    where obligations.revenue_method = 'per_issue'

    union all

    select
        obligations.obligation_id,
        numbers.generated_number as delivery_number,
        cast({{ dbt.dateadd(
            'month', '(numbers.generated_number - 1) * obligations.shipment_interval_months',
            'obligations.service_start') }} as date) as delivery_date
    from obligations
    inner join numbers on numbers.generated_number <= obligations.delivery_count
    where obligations.revenue_method = 'per_shipment'

    union all

    select obligation_id, 1 as delivery_number, service_start as delivery_date
    from obligations
    where revenue_method = 'point_in_time'

),

served_deliveries as (

    select
        deliveries.*,
        obligations.amount_cents,
        obligations.delivery_count,
        {{ div_round_half_up(
            'cast(obligations.amount_cents as ' ~ wide_int() ~ ') * deliveries.delivery_number',
            'obligations.delivery_count') }} as cumulative_cents
    from deliveries
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
    select
        obligations.obligation_id,
        'cancellation' as line_kind,
        cast(null as integer) as delivery_number,
        cast({{ dbt.date_trunc('month', 'obligations.service_stop') }} as date) as service_month,
        obligations.service_stop as recognition_date,
        obligations.amount_cents - case
            when obligations.revenue_method = 'ratable_daily' then coalesce(
                {{ div_round_half_up(
                    'cast(obligations.amount_cents as ' ~ wide_int() ~ ') * '
                    ~ dbt.datediff('obligations.service_start', 'obligations.service_stop', 'day'),
                    dbt.datediff('obligations.service_start', 'obligations.service_end', 'day')) }}, 0)
            else coalesce(delivered_before_stop.cumulative_cents, 0)
        end as scheduled_cents,
        cast(null as bigint) as recognised_cents
    from obligations
    left join delivered_before_stop on delivered_before_stop.obligation_id = obligations.obligation_id
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
            || case when unioned.delivery_number is not null then cast(unioned.delivery_number as varchar)
                else cast(unioned.service_month as varchar) end as schedule_line_id,
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
{% endmacro %}
