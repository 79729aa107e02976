-- int_subscription_term_details: one row per subscription term with everything dim_subscriptions decides its status
-- from, except what the business date decides: the next term of the chain, the term's cancellation (int_term_cancellations),
-- the end of its grace (int_grace_issues: print terms, the ship date of the issue after the grace issues) and its invoice
-- with its payment state. dim_subscriptions adds the vacation holds covering the night and the status as of it.
-- Carried by subscription (macros/materializations/carried.sql): a subscription's terms are computed again only on a
-- night one of its terms, its cancellations, its grace issues or its invoices changed; every join stays within the
-- subscription (an invoice joins its term by order and subscription), and the business date is not read.

{{ config(materialized=('carried' if target.type == 'duckdb' else 'table'), carry_key='subscription_id') }}

with terms as (

    select * from {{ ref('int_subscription_terms') }}

),

next_terms as (

    select
        terms.*,
        lead(start_date) over (partition by subscription_id order by term_number) as next_term_start,
        lead(ordered_date) over (partition by subscription_id order by term_number) as next_term_ordered_date
    from terms

),

term_cancellations as (

    select * from {{ ref('int_term_cancellations') }}

),

grace_ends as (

    -- print terms: grace lasts until the issue after the grace issues ships (int_grace_issues)
    select subscription_id, term_number, ship_date as grace_end
    from {{ ref('int_grace_issues') }}
    where not in_grace

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

joined as (

    select
        next_terms.*,
        term_cancellations.service_end,
        coalesce(term_cancellations.do_not_renew, false) as cancelled_at_term_end,
        term_cancellations.cancellation_id,
        term_cancellations.cancellation_reason,
        grace_ends.grace_end,
        invoices.invoice_id,
        invoices.invoice_status,
        invoices.balance_due,
        invoices.suspended_on,
        invoices.reinstated_on,
        invoices.written_off_on
    from next_terms
    left join term_cancellations
        on term_cancellations.subscription_id = next_terms.subscription_id
        and term_cancellations.term_number = next_terms.term_number
    left join grace_ends
        on grace_ends.subscription_id = next_terms.subscription_id
        and grace_ends.term_number = next_terms.term_number
    left join invoices
        on invoices.order_id = next_terms.order_id and invoices.subscription_id = next_terms.subscription_id

)

select * from joined
