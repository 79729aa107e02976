-- fct_revenue_schedule: when each performance obligation is recognised (docs/computations.md, "Revenue:
-- earned and deferred"); see int_revenue_schedule_base. At the service stop S of a cancelled term the
-- deferred remainder is settled:
--   credit_note        the part a credit note takes (credited, never recognised)
--   refund             the part refunded (refunded, never recognised)
--   cancellation_fee   the cancellation fee (recognised, as cancellation-fee revenue)
--   reversal           in the full-refund window, the revenue recognised before S, reversed (negative)
--   cancellation       what is left of the remainder, recognised at S
-- so that an obligation's rows still sum to its amount, and recognised + credited + refunded = allocated
-- once the term is settled.

with base as (

    select * from {{ ref('int_revenue_schedule_base') }}

),

credits as (

    select obligation_id, credited_on as settled_on, credited_net_cents
    from {{ ref('int_credit_note_lines') }}

),

refunds as (

    select obligation_id, decided_on as settled_on, refunded_net_cents, fee_cents, reversed_cents
    from {{ ref('int_refund_lines') }}

),

settlements as (

    select
        coalesce(credits.obligation_id, refunds.obligation_id) as obligation_id,
        coalesce(credits.settled_on, refunds.settled_on) as settled_on,
        coalesce(credits.credited_net_cents, 0) as credited_cents,
        coalesce(refunds.refunded_net_cents, 0) as refunded_cents,
        coalesce(refunds.fee_cents, 0) as fee_cents,
        coalesce(refunds.reversed_cents, 0) as reversed_cents
    from credits
    full outer join refunds on refunds.obligation_id = credits.obligation_id

),

obligations as (

    select obligation_id, invoice_id, subscription_id, customer_id, product_id, currency, revenue_method
    from {{ ref('int_revenue_obligations') }}

),

kept as (

    -- the schedule, with each cancellation remainder reduced to what is left once settled
    select
        base.schedule_line_id, base.obligation_id, base.line_kind, base.delivery_number, base.service_month,
        base.recognition_date,
        base.scheduled_cents - coalesce(
            settlements.credited_cents + settlements.refunded_cents + settlements.fee_cents
            - settlements.reversed_cents, 0) as scheduled_cents,
        -- what is earned as of D: month-to-date for the open month's ratable row (int_revenue_schedule_base)
        base.recognised_cents as base_recognised_cents,
        base.invoice_id, base.subscription_id, base.customer_id, base.product_id, base.currency,
        base.revenue_method
    from base
    left join settlements
        on settlements.obligation_id = base.obligation_id and base.line_kind = 'cancellation'

),

settled as (

    select
        settlements.obligation_id || ':' || kinds.line_kind as schedule_line_id,
        settlements.obligation_id,
        kinds.line_kind,
        cast(null as integer) as delivery_number,
        cast({{ dbt.date_trunc('month', 'settlements.settled_on') }} as date) as service_month,
        settlements.settled_on as recognition_date,
        case kinds.line_kind
            when 'credit_note' then settlements.credited_cents
            when 'refund' then settlements.refunded_cents
            when 'cancellation_fee' then settlements.fee_cents
            else -settlements.reversed_cents
        end as scheduled_cents,
        cast(null as bigint) as base_recognised_cents,
        obligations.invoice_id, obligations.subscription_id, obligations.customer_id, obligations.product_id,
        obligations.currency, obligations.revenue_method
    from settlements
    inner join obligations on obligations.obligation_id = settlements.obligation_id
    cross join (
        select 'credit_note' as line_kind union all select 'refund' union all select 'cancellation_fee'
        union all select 'reversal'
    ) as kinds

),

unioned as (

    select * from kept where line_kind <> 'cancellation' or scheduled_cents <> 0
    union all
    select * from settled where scheduled_cents <> 0

),

amounts as (

    -- the schedule's rows carry their obligation's columns from int_revenue_schedule_base (a join of every row
    -- with the obligations again cost more than the rest of this model); the settlement rows take them here
    select
        unioned.*,
        case
            when line_kind in ('ratable', 'delivery') then base_recognised_cents
            when recognition_date > {{ business_date() }} or line_kind in ('credit_note', 'refund') then 0
            else scheduled_cents
        end as recognised_cents,
        case when recognition_date <= {{ business_date() }} and line_kind = 'credit_note' then scheduled_cents
            else 0 end as credited_cents,
        case when recognition_date <= {{ business_date() }} and line_kind = 'refund' then scheduled_cents
            else 0 end as refunded_cents
    from unioned

)

select
    schedule_line_id,
    obligation_id,
    invoice_id,
    subscription_id,
    customer_id,
    product_id,
    currency,
    revenue_method,
    line_kind,
    delivery_number,
    service_month,
    recognition_date,
    {{ cents_to_money('scheduled_cents') }} as scheduled_amount,
    {{ cents_to_money('recognised_cents') }} as recognised_amount,
    {{ cents_to_money('credited_cents') }} as credited_amount,
    {{ cents_to_money('refunded_cents') }} as refunded_amount
from amounts
