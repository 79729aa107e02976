-- int_revenue_obligations: the performance obligations of int_invoice_obligations with where recognition
-- stops: the service end S of a customer's cancellation, or the day the term was cancelled for nonpayment
-- (then the invoice's balance open that day is what a credit note may take), whichever comes first, when it
-- falls before the term's end.

with obligations as (

    select * from {{ ref('int_invoice_obligations') }}

),

nonpayment as (

    -- cancelled for nonpayment: the write-off date, and the balance then open (what a credit note may take)
    select invoice_id, min(event_date) as cancelled_on, sum(amount_cents) as open_balance_cents
    from {{ ref('int_cash_application') }}
    where record_type = 'collection' and kind = 'write_off'
    group by invoice_id

),

stops as (

    select
        obligations.*,
        nonpayment.cancelled_on is not null
            and (obligations.service_end is null or nonpayment.cancelled_on < obligations.service_end)
            and (obligations.service_stop is null or nonpayment.cancelled_on < obligations.service_stop)
            as stopped_for_nonpayment,
        nonpayment.cancelled_on,
        nonpayment.open_balance_cents
    from obligations
    left join nonpayment on nonpayment.invoice_id = obligations.invoice_id

)

select
    obligation_id,
    invoice_id,
    line_number,
    order_id,
    subscription_id,
    term_number,
    customer_id,
    product_id,
    currency,
    revenue_method,
    amount,
    amount_cents,
    invoice_date,
    service_start,
    service_end,
    case when stopped_for_nonpayment then greatest(cancelled_on, service_start) else service_stop end as service_stop,
    case when not stopped_for_nonpayment then cancellation_id end as cancellation_id,
    delivery_count,
    shipment_interval_months,
    case when stopped_for_nonpayment then 'nonpayment' when service_stop is not null then 'cancellation' end
        as stop_reason,
    case when stopped_for_nonpayment then open_balance_cents end as open_balance_at_stop_cents
from stops
