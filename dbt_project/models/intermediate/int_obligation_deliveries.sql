-- int_obligation_deliveries: the deliveries that earn each delivery-method performance obligation, whatever
-- later stops it (the schedule and the cancellation decisions keep those before the stop):
--   per_issue       the term's entitled issues (int_term_issues), on their ship dates
--   per_shipment    volume k on the service start + (k − 1) × the product's shipment interval, k = 1 … N
--   point_in_time   the one shipment, on the service start
-- cumulative_cents is what deliveries 1 … k earn together: amount × k / N in integer cents, rounded half away
-- from zero on the running total, so an obligation's deliveries sum to its amount (N = delivery_count).

with obligations as (

    select obligation_id, subscription_id, term_number, revenue_method, amount_cents, service_start,
        delivery_count, shipment_interval_months
    from {{ ref('int_invoice_obligations') }}
    where revenue_method in ('per_issue', 'per_shipment', 'point_in_time')

),

numbers as (

    {{ dbt.generate_series(240) }}

),

deliveries as (

    select obligations.obligation_id, issues.issue_number as delivery_number, issues.ship_date as delivery_date
    from obligations
    inner join {{ ref('int_term_issues') }} as issues
        on issues.subscription_id = obligations.subscription_id
        and issues.term_number = obligations.term_number
    where obligations.revenue_method = 'per_issue'

    union all

    select
        obligations.obligation_id,
        -- a bigint on every adapter (dbt's own series is a double where power() returns one)
        cast(numbers.generated_number as bigint) as delivery_number,
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

final as (

    select
        deliveries.obligation_id,
        deliveries.delivery_number,
        deliveries.delivery_date,
        {{ div_round_half_up(
            'cast(obligations.amount_cents as ' ~ wide_int() ~ ') * deliveries.delivery_number',
            'obligations.delivery_count') }} as cumulative_cents
    from deliveries
    inner join obligations on obligations.obligation_id = deliveries.obligation_id

)

select * from final
