-- fct_manifest_lines: the print manifests of night D (docs/computations.md, "Print manifests and draws"). For
-- every issue whose list-close night (list_close_date, else the ship date) is on or before D and whose ship date
-- is on or after D, one line per entitled copy of a product that ships (fulfillment_channel ship; a digital
-- edition's issues are access, not copies): the issue's main manifest on its list-close night, then a
-- supplementary manifest each night until the ship date. The night's files carry the lines not already in the
-- export register. Entitled (as of D): the issue is one of the term's issues; the term is not cancelled with S <=
-- ship date nor written off for nonpayment; no vacation hold covers the ship date; the invoice is not suspended
-- for nonpayment; the invoice is paid or the issue is within the first unpaid_ship_allowance_issues; the customer
-- is neither undeliverable nor deceased. A held issue is not one of the term's issues (the chain walk skips it
-- and the term takes the next one). Graced copies (entitlement_kind graced): an expired issue term whose renewal
-- is pending tonight (renewable, no renewal known, no cancellation or do-not-renew known, not suspended or
-- written off) keeps receiving its grace issues (int_grace_issues: the first renewal_grace_issues issues
-- shipping on or after its end); if it renews, the renewal's chain walk counts them as its first issues.
-- Complimentary and reshipped copies (entitlement_kind complimentary, reship; int_complimentary_copies) are lines
-- of their own keyed by the service action (<service_action_id>:<issue_id>), on the nights between the list
-- close and the ship date of the manifest they ride, unless the term was cancelled (service end on or before
-- that ship date), written off or suspended. copy_kind groups the kinds for circulation: entitled (paid,
-- unpaid_allowed), graced, complimentary, reship. An issue the subscription gets free is not also graced.

with open_issues as (

    select
        issue_id,
        product_id,
        cover_date,
        coalesce(list_close_date, ship_date) as list_close_date,
        ship_date
    from {{ ref('stg_issue_schedules') }}
    where is_current
        and coalesce(list_close_date, ship_date) <= {{ business_date() }}
        and ship_date >= {{ business_date() }}
        and {{ due_on_or_after_cutover('ship_date') }}

),

term_issues as (

    select subscription_id, term_number, issue_number, issue_id
    from {{ ref('int_term_issues') }}

),

terms as (

    select subscription_id, term_number, order_id, customer_id, quantity
    from {{ ref('int_subscription_terms') }}

),

cancellations as (

    select subscription_id, term_number, service_end
    from {{ ref('int_term_cancellations') }}
    where service_end is not null

),

invoices as (

    select
        order_id,
        invoice_status,
        suspended_on is not null and reinstated_on is null as is_suspended,
        written_off_on is not null as is_written_off
    from {{ ref('fct_invoices') }}

),

holds as (

    select subscription_id, hold_from, hold_to
    from {{ ref('stg_suspensions') }}

),

ship_to as (

    select
        order_id,
        ship_to_name,
        ship_to_address_line1,
        ship_to_address_line2,
        ship_to_city,
        ship_to_region,
        ship_to_postal_code,
        ship_to_country
    from {{ ref('int_orders') }}

),

customers as (

    select
        customer_id,
        trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) as customer_name,
        organisation,
        address_line1,
        address_line2,
        city,
        region,
        postal_code,
        country,
        deceased,
        undeliverable
    from {{ ref('stg_customers') }}
    where is_current

),

copies as (

    select
        term_issues.subscription_id,
        term_issues.term_number,
        term_issues.issue_number,
        open_issues.issue_id,
        open_issues.product_id,
        open_issues.cover_date,
        open_issues.list_close_date,
        open_issues.ship_date,
        terms.order_id,
        terms.customer_id,
        terms.quantity,
        case
            when invoices.invoice_status = 'paid' then 'paid'
            when term_issues.issue_number <= {{ var('unpaid_ship_allowance_issues') }} then 'unpaid_allowed'
        end as entitlement_kind,
        cast(null as {{ text_type() }}) as service_action_id
    from open_issues
    inner join term_issues on term_issues.issue_id = open_issues.issue_id
    inner join terms
        on terms.subscription_id = term_issues.subscription_id
        and terms.term_number = term_issues.term_number
    left join cancellations
        on cancellations.subscription_id = term_issues.subscription_id
        and cancellations.term_number = term_issues.term_number
    left join invoices on invoices.order_id = terms.order_id
    where (cancellations.service_end is null or open_issues.ship_date < cancellations.service_end)
        and not coalesce(invoices.is_written_off, false)
        and not coalesce(invoices.is_suspended, false)

),

pending_renewals as (

    -- issue terms whose renewal is pending tonight
    select
        terms.subscription_id,
        terms.term_number,
        terms.order_id,
        terms.customer_id,
        terms.quantity,
        terms.schedule_product_id,
        terms.end_date,
        terms.issue_count
    from {{ ref('int_subscription_terms') }} as terms
    left join {{ ref('int_subscription_terms') }} as renewals
        on renewals.subscription_id = terms.subscription_id and renewals.term_number = terms.term_number + 1
    left join {{ ref('int_term_cancellations') }} as cancellations
        on cancellations.subscription_id = terms.subscription_id and cancellations.term_number = terms.term_number
    left join invoices on invoices.order_id = terms.order_id
    where terms.term_unit = 'issues'
        and terms.end_date is not null
        and terms.renewal_offer_id is not null
        and renewals.subscription_id is null
        and cancellations.subscription_id is null
        and not coalesce(invoices.is_written_off, false)
        and not coalesce(invoices.is_suspended, false)

),

graced_copies as (

    select
        pending.subscription_id,
        pending.term_number,
        pending.issue_count + graced.grace_number as issue_number,
        open_issues.issue_id,
        open_issues.product_id,
        open_issues.cover_date,
        open_issues.list_close_date,
        open_issues.ship_date,
        pending.order_id,
        pending.customer_id,
        pending.quantity,
        'graced' as entitlement_kind,
        cast(null as {{ text_type() }}) as service_action_id
    from pending_renewals as pending
    inner join {{ ref('int_grace_issues') }} as graced
        on graced.subscription_id = pending.subscription_id and graced.term_number = pending.term_number
    inner join open_issues on open_issues.issue_id = graced.issue_id
    where graced.in_grace
        and not exists (
            select 1 from {{ ref('int_complimentary_copies') }} as free
            where free.subscription_id = pending.subscription_id and free.issue_id = open_issues.issue_id
                and free.copy_kind = 'complimentary'
        )

),

free_copies as (

    -- complimentary and reshipped copies riding a manifest open tonight
    select
        free.subscription_id,
        free.term_number,
        free.copy_number as issue_number,
        free.issue_id,
        free.product_id,
        free.cover_date,
        free.list_close_date,
        free.ship_date,
        free.order_id,
        free.customer_id,
        free.quantity,
        free.copy_kind as entitlement_kind,
        free.service_action_id
    from {{ ref('int_complimentary_copies') }} as free
    left join cancellations
        on cancellations.subscription_id = free.subscription_id and cancellations.term_number = free.term_number
    left join invoices on invoices.order_id = free.order_id
    where free.list_close_date <= {{ business_date() }}
        and free.ship_date >= {{ business_date() }}
        and {{ due_on_or_after_cutover('free.ship_date') }}
        and (cancellations.service_end is null or free.ship_date < cancellations.service_end)
        and not coalesce(invoices.is_written_off, false)
        and not coalesce(invoices.is_suspended, false)

),

shipped_products as (

    -- only what ships is on a manifest: a digital edition's issues are access and revenue, not copies
    select product_id
    from {{ ref('stg_products') }}
    where is_current and fulfillment_channel = 'ship'

),

all_copies as (

    -- no copy ships into a vacation hold
    select *
    from (select * from copies union all select * from graced_copies union all select * from free_copies) as entitled
    where product_id in (select product_id from shipped_products)
        and not exists (
        select 1 from holds
        where holds.subscription_id = entitled.subscription_id
            and holds.hold_from <= entitled.ship_date
            and entitled.ship_date < holds.hold_to
    )

),

addressed as (

    -- the gift recipient when the order names one, else the customer (as known tonight)
    select
        copies.*,
        coalesce(copies.service_action_id, copies.subscription_id || ':' || cast(copies.term_number as {{ text_type() }}))
            || ':' || copies.issue_id as manifest_line_id,
        ship_to.ship_to_address_line1 is not null as is_gift,
        case when ship_to.ship_to_address_line1 is not null
            then ship_to.ship_to_name else customers.customer_name end as ship_to_name,
        case when ship_to.ship_to_address_line1 is null then customers.organisation end as ship_to_organisation,
        coalesce(ship_to.ship_to_address_line1, customers.address_line1) as address_line1,
        case when ship_to.ship_to_address_line1 is not null
            then ship_to.ship_to_address_line2 else customers.address_line2 end as address_line2,
        case when ship_to.ship_to_address_line1 is not null
            then ship_to.ship_to_city else customers.city end as city,
        case when ship_to.ship_to_address_line1 is not null
            then ship_to.ship_to_region else customers.region end as region,
        case when ship_to.ship_to_address_line1 is not null
            then ship_to.ship_to_postal_code else customers.postal_code end as postal_code,
        case when ship_to.ship_to_address_line1 is not null
            then ship_to.ship_to_country else customers.country end as country
    from all_copies as copies
    inner join customers on customers.customer_id = copies.customer_id
    left join ship_to on ship_to.order_id = copies.order_id
    where copies.entitlement_kind is not null
        and not customers.deceased
        and not customers.undeliverable

),

routing as (

    select
        routing_id,
        nullif(country, '') as country,
        nullif(postal_prefix, '') as postal_prefix,
        shipper_id
    from {{ ref('stg_shipper_routing') }}
    where is_current

),

routed as (

    -- the country's rule with the longest matching postal prefix, else the country's rule without a prefix,
    -- else the default rule (no country); ties (two rules for the same scope) go to the lowest routing_id
    select
        addressed.manifest_line_id,
        routing.routing_id,
        routing.shipper_id,
        row_number() over (
            partition by addressed.manifest_line_id
            order by
                case when routing.country is null then 1 else 0 end,
                length(coalesce(routing.postal_prefix, '')) desc,
                routing.routing_id
        ) as preference
    from addressed
    inner join routing
        on routing.country is null
        or (
            routing.country = addressed.country
            and (
                routing.postal_prefix is null
                or left(coalesce(addressed.postal_code, ''), length(routing.postal_prefix)) = routing.postal_prefix
            )
        )

),

final as (

    select
        addressed.manifest_line_id,
        addressed.issue_id,
        addressed.product_id,
        addressed.cover_date,
        addressed.list_close_date,
        addressed.ship_date,
        addressed.list_close_date = {{ business_date() }} as is_list_close_night,
        addressed.subscription_id,
        addressed.term_number,
        addressed.issue_number,
        addressed.order_id,
        addressed.customer_id,
        addressed.quantity,
        addressed.entitlement_kind,
        case when addressed.entitlement_kind in ('paid', 'unpaid_allowed') then 'entitled'
            else addressed.entitlement_kind end as copy_kind,
        addressed.service_action_id,
        addressed.is_gift,
        addressed.ship_to_name,
        addressed.ship_to_organisation,
        addressed.address_line1,
        addressed.address_line2,
        addressed.city,
        addressed.region,
        addressed.postal_code,
        addressed.country,
        routed.shipper_id,
        routed.routing_id
    from addressed
    left join routed
        on routed.manifest_line_id = addressed.manifest_line_id
        and routed.preference = 1

)

select * from final
