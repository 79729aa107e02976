-- fct_refunds: the refund decision for each invoice of a term its customer cancelled (docs/computations.md,
-- "Cancellations, credit notes and refunds"), dated the service end S, on amounts net of tax (the tax on what
-- is refunded is reversed with it). One row per decision, whatever the window, so customer service can say
-- why nothing came back.
--   full_refund   everything paid by S comes back, no fee; the open balance was credited (fct_credit_notes)
--   prorated      refundable = paid net − served value − what the credit note took, never below zero (paid
--                 net = paid × net / total, rounded down); fee = the flat amount, or the percentage of the
--                 refundable amount rounded half away from zero, never more than it; refund = refundable −
--                 fee; its tax = the invoice's tax pro rata, rounded down
--   no_refund     nothing; the deferred remainder is recognised at S

with decisions as (

    select * from {{ ref('int_cancellation_decisions') }}

),

open_at_stop as (

    select invoice_id, min(amount_cents) as open_cents
    from {{ ref('int_cash_application') }}
    where record_type = 'collection' and kind = 'cancellation'
    group by invoice_id

),

paid_by as (

    -- the payment a refund goes back to: the latest one applied to the invoice by S (directly or as credit)
    select
        applications.invoice_id,
        {{ arg_max("applications.payment_id", "applications.event_date || ':' || applications.payment_id") }} as payment_id
    from {{ ref('int_cash_application') }} as applications
    inner join decisions on decisions.invoice_id = applications.invoice_id
    where applications.record_type = 'application' and applications.amount_cents > 0
        and applications.event_date <= decisions.service_stop
    group by applications.invoice_id

),

credit_notes as (

    select
        invoice_id,
        sum(credited_net_cents) as credited_net_cents,
        sum(credited_tax_cents) as credited_tax_cents
    from {{ ref('int_credit_note_lines') }}
    where reason = 'cancellation'
    group by invoice_id

),

facts as (

    select
        decisions.*,
        decisions.total_cents - open_at_stop.open_cents as paid_cents,
        decisions.net_cents - decisions.unserved_net_cents as served_net_cents,
        coalesce(credit_notes.credited_net_cents, 0) as credited_net_cents,
        coalesce(credit_notes.credited_tax_cents, 0) as credited_tax_cents,
        paid_by.payment_id as original_payment_id
    from decisions
    -- an invoice written off for nonpayment before S has no decision to make
    inner join open_at_stop on open_at_stop.invoice_id = decisions.invoice_id
    left join credit_notes on credit_notes.invoice_id = decisions.invoice_id
    left join paid_by on paid_by.invoice_id = decisions.invoice_id

),

refundable as (

    select
        facts.*,
        case
            when refund_window <> 'prorated' or total_cents = 0 then 0
            else greatest(0, least(
                unserved_net_cents - credited_net_cents,
                {{ int_div('cast(paid_cents as ' ~ wide_int() ~ ') * net_cents', 'total_cents') }}
                    - served_net_cents))
        end as refundable_net_cents
    from facts

),

fees as (

    select
        refundable.*,
        case
            when cancellation_fee_type = 'flat' then least({{ to_cents('cancellation_fee') }}, refundable_net_cents)
            when cancellation_fee_type = 'percent' then least(
                {{ div_round_half_up(
                    'cast(refundable_net_cents as ' ~ wide_int() ~ ') * cast(round(cancellation_fee * 10000, 0) as bigint)',
                    '1000000') }},
                refundable_net_cents)
            else 0
        end as fee_cents
    from refundable

),

refunds as (

    select
        fees.*,
        case
            when refund_window = 'full_refund' then paid_cents - (tax_cents - credited_tax_cents)
            else refundable_net_cents - fee_cents
        end as refund_net_cents,
        case
            when refund_window = 'full_refund' then tax_cents - credited_tax_cents
            when net_cents = 0 then 0
            else {{ int_div('cast(refundable_net_cents - fee_cents as ' ~ wide_int() ~ ') * tax_cents', 'net_cents') }}
        end as refund_tax_cents
    from fees

)

select
    'RF-' || invoice_id as refund_id,
    cancellation_id,
    invoice_id,
    customer_id,
    currency,
    service_stop as decided_on,
    requested_date,
    invoice_date,
    days_since_order,
    credit_policy_id,
    refund_window,
    {{ cents_to_money('paid_cents') }} as paid_amount,
    {{ cents_to_money('served_net_cents') }} as served_net_amount,
    {{ cents_to_money('credited_net_cents + credited_tax_cents') }} as credited_amount,
    {{ cents_to_money('fee_cents') }} as fee_amount,
    {{ cents_to_money('refund_net_cents') }} as refund_net_amount,
    {{ cents_to_money('refund_tax_cents') }} as refund_tax_amount,
    {{ cents_to_money('refund_net_cents + refund_tax_cents') }} as refund_amount,
    original_payment_id,
    -- a refund request goes to the processor (exports/refunds/<D>/requests.csv); none for the legacy past
    refund_net_cents + refund_tax_cents > 0 and {{ due_on_or_after_cutover('service_stop') }} as is_requested,
    cast(case when refund_window = 'full_refund' then net_cents - unserved_net_cents else 0 end as bigint)
        as reversed_cents,
    cast(refund_net_cents as bigint) as refund_net_cents,
    cast(refund_tax_cents as bigint) as refund_tax_cents,
    cast(fee_cents as bigint) as fee_cents
from refunds
