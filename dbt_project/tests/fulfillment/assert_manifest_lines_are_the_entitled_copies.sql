-- The night's manifest lines are exactly the entitled copies, recomputed independently (docs/invariants.md,
-- "Fulfillment and access"): starting from each term's list of issues (int_subscription_terms.issue_ids) and its
-- status as of the night in dim_subscriptions, rather than from int_term_issues and the model's own joins
-- (graced copies: from the term's status, renewal flag and the issues numbered after its end, but for an issue
-- it gets free), and only of products that ship (a digital edition with an issue schedule gets access, not
-- copies). Also: one line per term and issue, and no line for a term cancelled or suspended for nonpayment (its
-- invoice suspended, whatever its status says). Complimentary and reshipped copies (lines keyed by a service
-- action) are each exactly what their action asks: a reship is one copy of the named issue, on tonight's
-- manifests whenever the manifest it rides is open and the subscription can receive it; a complimentary copy is
-- an issue of the term's publication shipping on or after the term's end and the action, that no term of the
-- subscription holds, and an action never sends more issues than it gives. Returns one row per problem.
{{ config(tags=["fulfillment"], meta={"dagster": {"ref": {"name": "fct_manifest_lines"}}}) }}

with term_issue_lists as (

    select
        subscription_id,
        term_number,
        {{ unnest_with_positions("issue_ids", "issue_id", "issue_number") }}
    from {{ ref('int_subscription_terms') }}
    where issue_count > 0

),

shipped_issues as (

    -- copies are of products that ship: a digital edition's issues are access, not copies
    select issues.*
    from {{ ref('stg_issue_schedules') }} as issues
    inner join {{ ref('stg_products') }} as products
        on products.product_id = issues.product_id and products.is_current
    where issues.is_current and products.fulfillment_channel = 'ship'

),

schedule as (

    select issue_id, ship_date, coalesce(list_close_date, ship_date) as closes_on
    from shipped_issues

),

subscriptions as (

    -- a term whose invoice is suspended for nonpayment gets no copy, also before it starts (its status then says
    -- pending: a renewal ordered months ahead can be suspended before its first issue)
    select s.subscription_id, s.term_number, s.customer_id, s.quantity, s.status, s.cancelled_on, s.billing_status,
        coalesce(i.suspended_on is not null and i.reinstated_on is null, false) as is_suspended
    from {{ ref('dim_subscriptions') }} as s
    left join {{ ref('fct_invoices') }} as i on i.invoice_id = s.invoice_id

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
        and not s.is_suspended
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
    from shipped_issues

),

expected_graced as (

    -- a term that has not renewed, is not marked do-not-renew and is neither cancelled nor suspended receives
    -- the first renewal_grace_issues issues after its end
    select s.subscription_id, s.term_number, later.issue_id, s.quantity, 'graced' as entitlement_kind
    from {{ ref('dim_subscriptions') }} as s
    inner join subscriptions as suspension
        on suspension.subscription_id = s.subscription_id and suspension.term_number = s.term_number
    inner join numbered_issues as later
        on later.product_id = s.schedule_product_id and later.ship_date >= s.end_date
    where s.term_unit = 'issues'
        and not s.is_renewed
        and s.renewal_flag <> 'do_not_renew'
        and s.status not in ('cancelled', 'suspended_nonpayment')
        and not suspension.is_suspended
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
        -- an issue the subscription gets free (a complimentary extension) is not also graced
        and not exists (
            select 1 from {{ ref('int_complimentary_copies') }} as free
            where free.subscription_id = s.subscription_id and free.issue_id = later.issue_id
                and free.copy_kind = 'complimentary'
        )

),

actual as (

    select subscription_id, term_number, issue_id, quantity, entitlement_kind
    from {{ ref('fct_manifest_lines') }}
    where service_action_id is null

),

free_lines as (

    select lines.*, actions.action_type, actions.action_date, actions.issues as issues_given,
        actions.issue_id as action_issue_id, actions.subscription_id as action_subscription_id
    from {{ ref('fct_manifest_lines') }} as lines
    left join {{ ref('stg_service_actions') }} as actions on actions.service_action_id = lines.service_action_id
    where lines.service_action_id is not null

),

free_not_asked as (

    select 'a free copy its service action does not ask for' as problem, f.subscription_id, f.term_number, f.issue_id
    from free_lines as f
    left join {{ ref('dim_subscriptions') }} as s
        on s.subscription_id = f.subscription_id and s.term_number = f.term_number
    left join schedule as i on i.issue_id = f.issue_id
    where f.action_type is null
        or f.subscription_id <> f.action_subscription_id
        or (f.entitlement_kind = 'reship' and (f.action_type <> 'reship' or f.issue_id <> f.action_issue_id
            or f.quantity <> 1))
        or (f.entitlement_kind = 'complimentary' and (
            f.action_type <> 'complimentary_extension'
            or f.product_id <> s.schedule_product_id
            or i.ship_date < s.end_date
            or i.ship_date < f.action_date
            or exists (select 1 from term_issue_lists as t
                       where t.subscription_id = f.subscription_id and t.issue_id = f.issue_id)))
        or f.entitlement_kind not in ('reship', 'complimentary')

),

free_too_many as (

    select 'more free issues than the action gives' as problem, min(subscription_id), min(term_number),
        min(issue_id)
    from free_lines
    where entitlement_kind = 'complimentary'
    group by service_action_id
    having count(distinct issue_id) > min(issues_given)

),

numbered_for_reship as (

    select product_id, issue_id, ship_date, closes_on from numbered_issues

),

reship_rides as (

    -- the issue a reship rides: its own when it ships on or after the action, else the publication's first issue
    -- shipping on or after the action (worked out per action first: Spark allows a correlated subquery in a
    -- select list, not in a join's condition)
    select a.service_action_id, a.subscription_id, a.issue_id, a.action_date, reshipped.product_id,
        case when reshipped.ship_date >= a.action_date then reshipped.issue_id else (
            select {{ arg_min("n.issue_id", "n.ship_date") }} from numbered_for_reship as n
            where n.product_id = reshipped.product_id and n.ship_date >= a.action_date) end as ride_issue_id
    from {{ ref('stg_service_actions') }} as a
    inner join numbered_for_reship as reshipped on reshipped.issue_id = a.issue_id
    where a.action_type = 'reship'

),

expected_reships as (

    -- the manifest a reship rides: its ride issue's
    select r.service_action_id, r.subscription_id, r.issue_id, r.action_date, ride.closes_on, ride.ship_date
    from reship_rides as r
    inner join numbered_for_reship as ride on ride.product_id = r.product_id and ride.issue_id = r.ride_issue_id
    where ride.closes_on <= {{ business_date() }}
        and ride.ship_date >= {{ business_date() }}
        and {{ due_on_or_after_cutover('ride.ship_date') }}

),

reship_terms as (

    -- the subscription's latest term started by the action
    select e.service_action_id, max(s.term_number) as term_number
    from expected_reships as e
    inner join {{ ref('dim_subscriptions') }} as s
        on s.subscription_id = e.subscription_id and s.start_date <= e.action_date
    group by e.service_action_id

),

reship_missing as (

    select 'a reship missing from tonight''s manifests' as problem, e.subscription_id, cast(null as integer) as term_number,
        e.issue_id
    from expected_reships as e
    left join reship_terms as t on t.service_action_id = e.service_action_id
    where not exists (select 1 from free_lines as f where f.service_action_id = e.service_action_id)
        -- the subscription can receive it: its latest term started by the action is neither cancelled by the
        -- ship date nor suspended, and the customer is deliverable
        and exists (
            select 1 from {{ ref('dim_subscriptions') }} as s
            where s.subscription_id = e.subscription_id
                and s.status not in ('cancelled', 'suspended_nonpayment')
                and (s.cancelled_on is null or e.ship_date < s.cancelled_on)
                and s.customer_id in (
                    select c.customer_id from {{ ref('stg_customers') }} as c
                    where c.is_current and not (c.deceased or c.undeliverable))
                and s.term_number = t.term_number)
        and e.subscription_id not in (
            select h.subscription_id from {{ ref('stg_suspensions') }} as h
            where e.ship_date >= h.hold_from and e.ship_date < h.hold_to
        )

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
    where s.status in ('cancelled', 'suspended_nonpayment') or s.is_suspended

)

select * from mismatches
union all
select * from twice
union all
select * from ended
union all
select * from free_not_asked
union all
select * from free_too_many
union all
select * from reship_missing
