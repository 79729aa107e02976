-- int_complimentary_copies: every copy a service action sends free (docs/computations.md, "Print manifests
-- and draws": reships and complimentary issues ride the next manifest, as separate lines keyed by their
-- service action), whatever the night; fct_manifest_lines puts a copy on the manifests of the nights between
-- its list close and ship date.
--   complimentary_extension of N issues: the term it extends is the subscription's latest term starting on or
--     before the action date (an issue term). Its copies are the first N issues of the term's publication that
--     ship on or after the later of the term's end and the action date, skipping issues a term of the
--     subscription is entitled to (a renewal known tonight takes its own issues first, so the free copies come
--     after them: the service is extended, never doubled) and issues shipping into a vacation hold. Same
--     quantity as the term. Evaluated as of D: a free copy that already shipped belongs to no term's issues,
--     so it keeps its place.
--   reship of issue I: one copy of I. It rides I's own manifest (main or supplementary) when I ships on or after
--     the action date; otherwise the next manifest of the publication, the first issue shipping on or after
--     the action date (ride_issue_id), and appears on the file of I.
-- No revenue and no invoice: these copies are not in int_term_issues.

with actions as (

    select service_action_id, customer_id, subscription_id, action_type, action_date, issues, issue_id
    from {{ ref('stg_service_actions') }}
    where action_type in ('complimentary_extension', 'reship')

),

terms as (

    select subscription_id, term_number, order_id, customer_id, quantity, term_unit, start_date, end_date,
        schedule_product_id
    from {{ ref('int_subscription_terms') }}

),

action_terms as (

    -- the term an action concerns: the latest one starting on or before the action date (else the first)
    select
        actions.*,
        terms.term_number,
        terms.order_id,
        terms.quantity,
        terms.term_unit,
        terms.end_date,
        terms.schedule_product_id,
        row_number() over (
            partition by actions.service_action_id
            order by case when terms.start_date <= actions.action_date then 0 else 1 end,
                case when terms.start_date <= actions.action_date then terms.term_number else -terms.term_number end desc
        ) as preference
    from actions
    inner join terms on terms.subscription_id = actions.subscription_id

),

issues as (

    select issue_id, product_id, cover_date, coalesce(list_close_date, ship_date) as list_close_date, ship_date
    from {{ ref('stg_issue_schedules') }}
    where is_current

),

extension_candidates as (

    select
        action_terms.service_action_id,
        action_terms.issues as issues_given,
        issues.issue_id,
        row_number() over (
            partition by action_terms.service_action_id order by issues.ship_date, issues.issue_id) as copy_number
    from action_terms
    inner join issues
        on issues.product_id = action_terms.schedule_product_id
        and issues.ship_date >= greatest(action_terms.end_date, action_terms.action_date)
    where action_terms.preference = 1
        and action_terms.action_type = 'complimentary_extension'
        and action_terms.term_unit = 'issues'
        and action_terms.issues is not null
        and action_terms.end_date is not null
        and not exists (
            select 1 from {{ ref('int_term_issues') }} as entitled
            where entitled.subscription_id = action_terms.subscription_id and entitled.issue_id = issues.issue_id
        )
        and not exists (
            select 1 from {{ ref('stg_suspensions') }} as holds
            where holds.subscription_id = action_terms.subscription_id
                and holds.hold_from <= issues.ship_date and issues.ship_date < holds.hold_to
        )

),

extension_copies as (

    select
        action_terms.service_action_id,
        'complimentary' as copy_kind,
        action_terms.subscription_id,
        action_terms.term_number,
        action_terms.order_id,
        action_terms.customer_id,
        candidates.copy_number,
        candidates.issue_id,
        candidates.issue_id as ride_issue_id,
        action_terms.quantity
    from extension_candidates as candidates
    inner join action_terms
        on action_terms.service_action_id = candidates.service_action_id and action_terms.preference = 1
    where candidates.copy_number <= candidates.issues_given

),

reship_copies as (

    select
        action_terms.service_action_id,
        'reship' as copy_kind,
        action_terms.subscription_id,
        action_terms.term_number,
        action_terms.order_id,
        action_terms.customer_id,
        1 as copy_number,
        action_terms.issue_id,
        case when reshipped.ship_date >= action_terms.action_date then reshipped.issue_id
            else (
                select {{ arg_min("later.issue_id", "later.ship_date") }} from issues as later
                where later.product_id = reshipped.product_id and later.ship_date >= action_terms.action_date
            ) end as ride_issue_id,
        1 as quantity
    from action_terms
    inner join issues as reshipped on reshipped.issue_id = action_terms.issue_id
    where action_terms.preference = 1 and action_terms.action_type = 'reship'

),

final as (

    select
        copies.service_action_id || ':' || copies.issue_id as manifest_line_id,
        copies.service_action_id,
        copies.copy_kind,
        copies.subscription_id,
        copies.term_number,
        copies.order_id,
        copies.customer_id,
        copies.copy_number,
        copies.issue_id,
        issue.product_id,
        issue.cover_date,
        copies.ride_issue_id,
        ride.list_close_date,
        ride.ship_date,
        copies.quantity
    from (select * from extension_copies union all select * from reship_copies) as copies
    inner join issues as issue on issue.issue_id = copies.issue_id
    inner join issues as ride on ride.issue_id = copies.ride_issue_id

)

select * from final
