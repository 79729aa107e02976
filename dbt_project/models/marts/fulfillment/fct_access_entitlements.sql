-- fct_access_entitlements: who may read what tonight (docs/computations.md, "Digital access"): one row per
-- customer and digital product (a digital publication, or the digital part of a bundle) with access as of D,
-- from the terms that grant it. A term grants access while it is active, on a vacation hold (holds pause print,
-- not reading) or in grace (an autorenew term whose charge is still outstanding keeps access
-- autocharge_access_grace_days after its end); a cancelled, suspended-for-nonpayment or expired term grants
-- none, and neither does a term whose invoice is unpaid past its unpaid allowance span (suspension follows).
-- access_end is the exclusive day access would stop as things stand tonight: the latest of the granting terms'
-- ends (plus grace while in grace, plus the free days of a complimentary extension); null while a granting
-- term's end is not known (an issue term whose closing issue is not scheduled yet).
-- exports/access/<D>/changes.csv sends the grants and revocations against the last set sent (the register).

with granting as (

    select
        subscriptions.customer_id,
        components.product_id,
        subscriptions.subscription_id,
        subscriptions.term_number,
        subscriptions.start_date,
        case
            when subscriptions.status = 'grace'
                then cast({{ dbt.dateadd('day', var('autocharge_access_grace_days'), 'subscriptions.end_date') }} as date)
            else subscriptions.end_date
        end as access_end
    from {{ ref('dim_subscriptions') }} as subscriptions
    inner join {{ ref('stg_offer_components') }} as components
        on components.offer_id = subscriptions.offer_id and components.is_current
    inner join {{ ref('stg_products') }} as products
        on products.product_id = components.product_id and products.is_current
    where products.kind = 'digital_publication'
        and subscriptions.status in ('active', 'on_hold', 'grace')

    union all

    -- a complimentary extension of N days: access for N days after the subscription's latest end (or the action
    -- date, if later), while the subscription is neither cancelled nor suspended
    select
        latest.customer_id,
        components.product_id,
        latest.subscription_id,
        latest.term_number,
        greatest(latest.end_date, actions.action_date) as start_date,
        cast({{ dbt.dateadd('day', 'actions.days', 'greatest(latest.end_date, actions.action_date)') }} as date)
            as access_end
    from {{ ref('stg_service_actions') }} as actions
    inner join (
        select subscriptions.*, row_number() over (
            partition by subscriptions.subscription_id order by subscriptions.term_number desc) as latest_first
        from {{ ref('dim_subscriptions') }} as subscriptions
    ) as latest on latest.subscription_id = actions.subscription_id and latest.latest_first = 1
    inner join {{ ref('stg_offer_components') }} as components
        on components.offer_id = latest.offer_id and components.is_current
    inner join {{ ref('stg_products') }} as products
        on products.product_id = components.product_id and products.is_current
    where actions.action_type = 'complimentary_extension'
        and actions.days is not null
        and products.kind = 'digital_publication'
        and latest.status not in ('cancelled', 'suspended_nonpayment')
        and latest.end_date is not null
        and {{ business_date() }} < {{ dbt.dateadd('day', 'actions.days', 'greatest(latest.end_date, actions.action_date)') }}

)

select
    customer_id || ':' || product_id as access_key,
    customer_id,
    product_id,
    min(start_date) as access_start,
    -- an issue term whose closing issue is not scheduled yet has no end: access is open-ended until it is
    case when count(access_end) = count(*) then max(access_end) end as access_end,
    count(*) as granting_terms,
    -- the term that grants access longest (an open end the longest); of two ending together, the greater
    -- subscription id (a total order)
    {{ arg_max("subscription_id", "coalesce(cast(access_end as " ~ text_type() ~ "), '9999-12-31') || ':' || subscription_id") }}
        as subscription_id
from granting
group by customer_id, product_id
