-- The night's manifest lines are exactly the entitled copies, recomputed independently (DOMAIN "Invariants"):
-- starting from each term's list of issues (int_subscription_terms.issue_ids) and its status as of the night
-- in dim_subscriptions, rather than from int_term_issues and the model's own joins. Also: one line per term
-- and issue, and no line for a term cancelled or suspended for nonpayment. Returns one row per problem.
{{ config(tags=["fulfillment"], meta={"dagster": {"ref": {"name": "fct_manifest_lines"}}}) }}

with term_issue_lists as (

    select
        subscription_id,
        term_number,
        unnest(issue_ids) as issue_id,
        unnest(generate_series(1, len(issue_ids))) as issue_number
    from {{ ref('int_subscription_terms') }}
    where issue_count > 0

),

schedule as (

    select issue_id, ship_date, coalesce(list_close_date, ship_date) as closes_on
    from {{ ref('stg_issue_schedules') }}
    where is_current

),

subscriptions as (

    select subscription_id, term_number, customer_id, quantity, status, cancelled_on, billing_status
    from {{ ref('dim_subscriptions') }}

),

expected as (

    select
        t.subscription_id,
        t.term_number,
        t.issue_id,
        s.quantity,
        case when s.billing_status = 'paid' then 'paid' else 'unpaid_allowed' end as entitlement_kind
    from term_issue_lists as t
    inner join schedule as i on i.issue_id = t.issue_id
    inner join subscriptions as s on s.subscription_id = t.subscription_id and s.term_number = t.term_number
    where i.closes_on <= {{ business_date() }}
        and i.ship_date >= {{ business_date() }}
        and {{ due_on_or_after_cutover('i.ship_date') }}
        and s.status not in ('cancelled', 'suspended_nonpayment')
        and (s.cancelled_on is null or i.ship_date < s.cancelled_on)
        and (s.billing_status = 'paid' or t.issue_number <= {{ var('unpaid_ship_allowance_issues') }})
        and t.subscription_id not in (
            select h.subscription_id from {{ ref('stg_suspensions') }} as h
            where i.ship_date >= h.hold_from and i.ship_date < h.hold_to
        )
        and s.customer_id in (
            select c.customer_id from {{ ref('stg_customers') }} as c
            where c.is_current and not (c.deceased or c.undeliverable)
        )

),

actual as (

    select subscription_id, term_number, issue_id, quantity, entitlement_kind
    from {{ ref('fct_manifest_lines') }}

),

mismatches as (

    select
        'not the entitled copies' as problem,
        coalesce(e.subscription_id, a.subscription_id) as subscription_id,
        coalesce(e.term_number, a.term_number) as term_number,
        coalesce(e.issue_id, a.issue_id) as issue_id
    from expected as e
    full outer join actual as a
        on a.subscription_id = e.subscription_id
        and a.term_number = e.term_number
        and a.issue_id = e.issue_id
    where e.subscription_id is null
        or a.subscription_id is null
        or a.quantity <> e.quantity
        or a.entitlement_kind <> e.entitlement_kind

),

twice as (

    select 'a copy twice for one term and issue' as problem, subscription_id, term_number, issue_id
    from actual
    group by subscription_id, term_number, issue_id
    having count(*) > 1

),

ended as (

    select 'a line for a cancelled or suspended term' as problem, a.subscription_id, a.term_number, a.issue_id
    from actual as a
    inner join subscriptions as s on s.subscription_id = a.subscription_id and s.term_number = a.term_number
    where s.status in ('cancelled', 'suspended_nonpayment')

)

select * from mismatches
union all
select * from twice
union all
select * from ended
