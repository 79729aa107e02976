-- The night's manifest lines are exactly the entitled copies, recomputed independently (DOMAIN "Invariants"):
-- starting from each term's list of issues (int_subscription_terms.issue_ids) and its status as of the night
-- in dim_subscriptions, rather than from int_term_issues and the model's own joins (graced copies: from the
-- term's status, renewal flag and the issues numbered after its end). Also: one line per term
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

numbered_issues as (

    select product_id, issue_id, ship_date, coalesce(list_close_date, ship_date) as closes_on,
        rank() over (partition by product_id order by ship_date, issue_id) as seq
    from {{ ref('stg_issue_schedules') }}
    where is_current

),

expected_graced as (

    -- a term that has not renewed, is not marked do-not-renew and is neither cancelled nor suspended receives
    -- the first renewal_grace_issues issues after its end
    select s.subscription_id, s.term_number, later.issue_id, s.quantity, 'graced' as entitlement_kind
    from {{ ref('dim_subscriptions') }} as s
    inner join numbered_issues as later
        on later.product_id = s.schedule_product_id and later.ship_date >= s.end_date
    where s.term_unit = 'issues'
        and not s.is_renewed
        and s.renewal_flag <> 'do_not_renew'
        and s.status not in ('cancelled', 'suspended_nonpayment')
        and later.closes_on <= {{ business_date() }}
        and later.ship_date >= {{ business_date() }}
        and {{ due_on_or_after_cutover('later.ship_date') }}
        and later.seq - (
            select min(first_after.seq) from numbered_issues as first_after
            where first_after.product_id = s.schedule_product_id and first_after.ship_date >= s.end_date
        ) < {{ var('renewal_grace_issues') }}
        and s.subscription_id not in (
            select h.subscription_id from {{ ref('stg_suspensions') }} as h
            where later.ship_date >= h.hold_from and later.ship_date < h.hold_to
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
    from (select * from expected union all select * from expected_graced) as e
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
