-- fct_access_entitlements: who may read what tonight (DOMAIN "Digital access"): one row per customer and digital
-- product (a digital publication, or the digital part of a bundle) with access as of D, from the terms that
-- grant it. A term grants access while it is active, on a vacation hold (holds pause print, not reading) or in
-- grace (an autorenew term whose charge is still outstanding keeps access autocharge_access_grace_days after
-- its end); a cancelled, suspended-for-nonpayment or expired term grants none, and neither does a term whose
-- invoice is unpaid past its unpaid allowance span (suspension follows). access_end is the exclusive day access
-- would stop as things stand tonight: the latest of the granting terms' ends (plus grace while in grace).
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

)

select
    customer_id || ':' || product_id as access_key,
    customer_id,
    product_id,
    min(start_date) as access_start,
    max(access_end) as access_end,
    count(*) as granting_terms,
    arg_max(subscription_id, access_end) as subscription_id
from granting
group by customer_id, product_id
