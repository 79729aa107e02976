-- int_cancellation_decisions: what the offer's credit policy allows for each invoice of a term its customer
-- cancelled (docs/computations.md, "Cancellations, credit notes and refunds"), decided before cash
-- application, which credits it at S. days_since_order = requested date − order (invoice) date; the
-- policy version is the one in force when the invoice was recorded (what the customer agreed to):
--   full_refund   days_since_order <= full_refund_days (0 = never): everything paid back, the open balance
--                 credited
--   prorated      days_since_order <= no_refund_after_days (999 = always, 0 = never): the unserved value credited
--                 against the open balance, the rest of it refunded less the cancellation fee
--   no_refund     after that: nothing; the deferred remainder is recognised at S
-- unserved_net_cents is the deferred remainder at S (the obligations' cancellation rows); its tax is the
-- invoice's tax pro rata, rounded half away from zero.

with obligations as (

    select * from {{ ref('int_invoice_obligations') }}
    where service_stop is not null

),

delivered_before_stop as (

    -- what the deliveries made before S earned together
    select deliveries.obligation_id, max(deliveries.cumulative_cents) as cumulative_cents
    from {{ ref('int_obligation_deliveries') }} as deliveries
    inner join obligations on obligations.obligation_id = deliveries.obligation_id
    where deliveries.delivery_date < obligations.service_stop
    group by deliveries.obligation_id

),

remainders as (

    -- the deferred remainder at S: the amount less what the served days or deliveries earned (the
    -- cancellation rows of int_revenue_schedule_base, which cash application cannot wait for)
    select
        obligations.obligation_id,
        {{ deferred_remainder_cents('obligations', 'delivered_before_stop.cumulative_cents', 'moved') }}
            as remainder_cents
    from obligations
    left join delivered_before_stop on delivered_before_stop.obligation_id = obligations.obligation_id
    left join {{ ref('int_ratable_segments') }} as moved
        on moved.obligation_id = obligations.obligation_id
        and {{ ratable_segment_holds('moved', 'obligations.service_stop') }}
    where obligations.revenue_method <> 'ratable_daily' or obligations.service_end > obligations.service_start

),

per_invoice as (

    select
        obligations.invoice_id,
        min(obligations.cancellation_id) as cancellation_id,
        min(obligations.service_stop) as service_stop,
        min(obligations.cancellation_requested_date) as requested_date,
        coalesce(sum(remainders.remainder_cents), 0) as unserved_net_cents
    from obligations
    left join remainders on remainders.obligation_id = obligations.obligation_id
    group by obligations.invoice_id

),

invoices as (

    select
        invoice_id,
        customer_id,
        offer_id,
        currency,
        invoice_date,
        recorded_date,
        {{ to_cents('net_amount') }} as net_cents,
        {{ to_cents('tax_amount') }} as tax_cents,
        {{ to_cents('total_amount') }} as total_cents
    from {{ ref('int_invoices') }}

),

policies as (

    select
        per_invoice.*,
        invoices.customer_id,
        invoices.currency,
        invoices.invoice_date,
        invoices.net_cents,
        invoices.tax_cents,
        invoices.total_cents,
        {{ dbt.datediff('invoices.invoice_date', 'per_invoice.requested_date', 'day') }} as days_since_order,
        offers.credit_policy_id,
        policy.full_refund_days,
        policy.no_refund_after_days,
        coalesce(policy.cancellation_fee_type, 'none') as cancellation_fee_type,
        policy.cancellation_fee
    from per_invoice
    inner join invoices on invoices.invoice_id = per_invoice.invoice_id
    left join {{ ref('stg_offers') }} as offers
        on offers.offer_id = invoices.offer_id
        and offers.valid_from <= invoices.recorded_date
        and (offers.valid_to is null or invoices.recorded_date < offers.valid_to)
    left join {{ ref('stg_credit_policies') }} as policy
        on policy.credit_policy_id = offers.credit_policy_id
        and policy.valid_from <= invoices.recorded_date
        and (policy.valid_to is null or invoices.recorded_date < policy.valid_to)

)

select
    invoice_id,
    cancellation_id,
    customer_id,
    currency,
    invoice_date,
    requested_date,
    service_stop,
    days_since_order,
    credit_policy_id,
    case
        when full_refund_days > 0 and days_since_order <= full_refund_days then 'full_refund'
        -- an offer without a policy refunds the unserved value, without a fee
        when credit_policy_id is null or no_refund_after_days >= 999
            or (no_refund_after_days > 0 and days_since_order <= no_refund_after_days) then 'prorated'
        else 'no_refund'
    end as refund_window,
    cancellation_fee_type,
    cancellation_fee,
    net_cents,
    tax_cents,
    total_cents,
    unserved_net_cents,
    {{ pro_rata_cents('tax_cents', 'unserved_net_cents', 'net_cents') }} as unserved_tax_cents
from policies
