-- fct_revenue_schedule: when each performance obligation is recognised (DOMAIN "Revenue"); see
-- int_revenue_schedule_base. For a term cancelled for nonpayment, the remainder at S is split: the part a
-- credit note takes (line_kind credit_note: credited, never recognised) and the rest, recognised at S.

with base as (

    select * from {{ ref('int_revenue_schedule_base') }}

),

credits as (

    select obligation_id, credited_net_cents from {{ ref('int_credit_note_lines') }}

),

split as (

    select
        base.schedule_line_id, base.obligation_id, base.invoice_id, base.subscription_id, base.customer_id,
        base.product_id, base.currency, base.revenue_method, base.line_kind, base.delivery_number,
        base.service_month, base.recognition_date,
        base.scheduled_cents - coalesce(credits.credited_net_cents, 0) as scheduled_cents,
        case when base.recognition_date <= {{ business_date() }}
            then base.scheduled_cents - coalesce(credits.credited_net_cents, 0) else 0 end as recognised_cents,
        0 as credited_cents
    from base
    left join credits on credits.obligation_id = base.obligation_id and base.line_kind = 'cancellation'
    where base.line_kind <> 'cancellation' or base.scheduled_cents <> coalesce(credits.credited_net_cents, 0)

    union all

    select
        base.obligation_id || ':credit_note', base.obligation_id, base.invoice_id, base.subscription_id,
        base.customer_id, base.product_id, base.currency, base.revenue_method, 'credit_note', null,
        base.service_month, base.recognition_date,
        credits.credited_net_cents,
        0,
        case when base.recognition_date <= {{ business_date() }} then credits.credited_net_cents else 0 end
    from base
    inner join credits on credits.obligation_id = base.obligation_id
    where base.line_kind = 'cancellation' and credits.credited_net_cents <> 0

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
    {{ cents_to_money('credited_cents') }} as credited_amount
from split
