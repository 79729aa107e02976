-- fct_renewal_outcomes: every term that comes up for renewal (docs/computations.md, "Renewal outcomes and
-- cohorts") and what became of it as of D; rpt_renewal_cohorts counts them.
--   renewed   the next term is known by D: from an order (converted by the last renewal notice due before it,
--             or before any notice), a settled autocharge (the attempt that settled), or an autobilled
--             renewal invoice once it is paid
--   lapsed    not renewed, and cancelled or marked do-not-renew, or its renewal window has passed (term end +
--             the last notice offset, or the last retry offset if later), or its autobilled renewal was
--             written off
--   pending   neither, yet: still inside the renewal window
-- Terms ended early (a cancellation before their end, or nonpayment) never come up for renewal: they are
-- cancellations (fct_cancellations), not expiries. The product is the term's first invoice line's.

with terms as (

    select * from {{ ref('int_subscription_terms') }}

),

next_terms as (

    select
        subscription_id,
        term_number - 1 as previous_term_number,
        term_source,
        order_id,
        {{ known_date('recorded_date', 'ordered_date') }} as known_on
    from terms

),

products as (

    select invoices.order_id, lines.product_id, invoices.net_amount, invoices.invoice_status, invoices.written_off_on
    from {{ ref('fct_invoices') }} as invoices
    inner join {{ ref('fct_invoice_lines') }} as lines
        on lines.invoice_id = invoices.invoice_id and lines.line_number = 1

),

cancellations as (

    select subscription_id, term_number, service_end, do_not_renew, known_on
    from {{ ref('int_term_cancellations') }}

),

settled_attempts as (

    select subscription_id, term_number, min(attempt) as attempt
    from {{ ref('fct_autocharge_requests') }}
    where request_status = 'settled'
    group by subscription_id, term_number

),

notices as (

    select subscription_id, term_number, notice_number, due_date
    from {{ ref('fct_renewal_notices') }}
    where status in ('sent', 'past')

),

expiring as (

    select
        terms.subscription_id,
        terms.term_number,
        terms.currency,
        terms.end_date,
        cast({{ dbt.date_trunc('month', 'terms.end_date') }} as date) as cohort_month,
        case when terms.autorenew then 'auto' else 'notice' end as renewal_type,
        case when terms.term_number = 1 then 'first' else 'later' end as renewal_number,
        products.product_id,
        next_terms.term_source as renewal_source,
        next_terms.known_on as renewal_known_on,
        renewal_invoices.net_amount as renewal_net_amount,
        renewal_invoices.invoice_status as renewal_invoice_status,
        cancellations.do_not_renew,
        cancellations.known_on as cancellation_known_on,
        settled_attempts.attempt as settled_attempt,
        cast({{ dbt.dateadd('day', [var('renewal_notice_offsets')[-1], var('autocharge_retry_offsets')[-1], 0] | max,
            'terms.end_date') }} as date) as window_end
    from terms
    inner join products on products.order_id = terms.order_id
    left join next_terms
        on next_terms.subscription_id = terms.subscription_id and next_terms.previous_term_number = terms.term_number
    left join products as renewal_invoices on renewal_invoices.order_id = next_terms.order_id
    left join cancellations
        on cancellations.subscription_id = terms.subscription_id and cancellations.term_number = terms.term_number
    left join settled_attempts
        on settled_attempts.subscription_id = terms.subscription_id
        and settled_attempts.term_number = terms.term_number
    where terms.end_date is not null
        and terms.renewal_offer_id is not null
        -- ended early: a cancellation before the end, or nonpayment
        and (cancellations.service_end is null)
        and products.written_off_on is null

),

outcomes as (

    select
        expiring.*,
        case
            when renewal_source = 'autobill' and renewal_invoice_status = 'paid' then 'renewed'
            when renewal_source = 'autobill' and renewal_invoice_status = 'written_off' then 'lapsed'
            when renewal_source in ('order', 'autocharge') and renewal_known_on <= {{ business_date() }} then 'renewed'
            when do_not_renew and cancellation_known_on <= {{ business_date() }} then 'lapsed'
            when {{ business_date() }} >= window_end then 'lapsed'
            else 'pending'
        end as outcome
    from expiring

),

last_notices as (

    -- the last renewal notice due on or before the renewal became known
    select outcomes.subscription_id, outcomes.term_number, max(notices.notice_number) as notice_number
    from outcomes
    inner join notices
        on notices.subscription_id = outcomes.subscription_id
        and notices.term_number = outcomes.term_number
        and notices.due_date <= outcomes.renewal_known_on
    group by outcomes.subscription_id, outcomes.term_number

),

converted as (

    select
        outcomes.*,
        case
            when outcome <> 'renewed' then null
            when renewal_source = 'autocharge' then 'autocharge attempt ' || cast(settled_attempt as {{ text_type() }})
            when renewal_source = 'autobill' then 'autobill invoice'
            when last_notices.notice_number is null then 'before any notice'
            else 'notice ' || cast(last_notices.notice_number as {{ text_type() }})
        end as converted_by
    from outcomes
    left join last_notices
        on last_notices.subscription_id = outcomes.subscription_id
        and last_notices.term_number = outcomes.term_number

)

select
    subscription_id,
    term_number,
    product_id,
    currency,
    end_date,
    cohort_month,
    renewal_type,
    renewal_number,
    window_end,
    outcome,
    renewal_source,
    renewal_known_on,
    converted_by,
    case when outcome = 'renewed' then renewal_net_amount end as renewal_net_amount
from converted
