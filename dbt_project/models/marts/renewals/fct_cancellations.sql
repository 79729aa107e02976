-- fct_cancellations: every cancellation request and what it did (docs/computations.md, "Cancellations,
-- credit notes and refunds"): the term it ended at its service end S (the later of the effective and
-- recorded dates), or the renewal it stopped (effective at or after the term's end: do not renew), with the
-- refunds and credit notes its credit policy decided. known_on is the night the pipeline first knew it (the
-- confirmation message goes then).

with cancellations as (

    select
        cancellation_id,
        subscription_id,
        requested_date,
        effective_date,
        reason,
        recorded_date,
        {{ known_date('recorded_date', 'requested_date') }} as known_on,
        greatest(effective_date, {{ known_date('recorded_date', 'requested_date') }}) as service_end
    from {{ ref('stg_cancellations') }}

),

ended as (

    -- the terms a cancellation ended, and the terms whose renewal it stopped
    select
        cancellation_id,
        min(case when service_end is not null then term_number end) as ended_term_number,
        count(case when service_end is not null then 1 end) as terms_ended,
        max(case when do_not_renew then term_number end) as not_renewed_term_number
    from {{ ref('int_term_cancellations') }}
    group by cancellation_id

),

customers as (

    select subscription_id, min(customer_id) as customer_id
    from {{ ref('int_subscription_terms') }}
    group by subscription_id

),

refunds as (

    select
        cancellation_id,
        min(currency) as currency,
        sum(refund_amount) as refund_amount,
        sum(fee_amount) as fee_amount,
        sum(credited_amount) as credited_amount,
        min(refund_window) as refund_window
    from {{ ref('fct_refunds') }}
    group by cancellation_id

)

select
    cancellations.cancellation_id,
    cancellations.subscription_id,
    customers.customer_id,
    cancellations.reason,
    cancellations.requested_date,
    cancellations.effective_date,
    cancellations.service_end,
    cancellations.known_on,
    case
        when ended.terms_ended > 0 then 'ended_term'
        when ended.not_renewed_term_number is not null then 'not_renewed'
        else 'no_effect'
    end as outcome,
    ended.ended_term_number,
    ended.not_renewed_term_number,
    refunds.refund_window,
    refunds.currency,
    coalesce(refunds.credited_amount, 0) as credited_amount,
    coalesce(refunds.fee_amount, 0) as fee_amount,
    coalesce(refunds.refund_amount, 0) as refund_amount
from cancellations
left join ended on ended.cancellation_id = cancellations.cancellation_id
left join customers on customers.subscription_id = cancellations.subscription_id
left join refunds on refunds.cancellation_id = cancellations.cancellation_id
