-- No access grant for a customer and product that no active, held or in-grace term grants tonight: every grant
-- traces back to such a term of that customer holding that product (docs/computations.md, "Digital access";
-- docs/invariants.md, "Fulfillment and access": no access grant for a cancelled, suspended or expired term).
-- Written from dim_subscriptions' statuses and the offers' components, not from the model's own join. An
-- expired term's subscription still holds access while the free days of a complimentary extension run.
{{ config(tags=["fulfillment"], meta={"dagster": {"ref": {"name": "fct_access_entitlements"}}}) }}

select grants.access_key
from {{ ref('fct_access_entitlements') }} as grants
where not exists (
    select 1
    from {{ ref('dim_subscriptions') }} as terms
    inner join {{ ref('stg_offer_components') }} as parts
        on parts.offer_id = terms.offer_id and parts.is_current
    where terms.customer_id = grants.customer_id
        and parts.product_id = grants.product_id
        and (
            terms.status not in ('cancelled', 'suspended_nonpayment', 'expired', 'pending')
            -- or free days of a complimentary extension of that subscription still running
            or (terms.status = 'expired' and exists (
                select 1 from {{ ref('stg_service_actions') }} as actions
                where actions.subscription_id = terms.subscription_id
                    and actions.action_type = 'complimentary_extension' and actions.days is not null
                    and {{ business_date() }} < {{ dbt.dateadd('day', 'actions.days',
                        'greatest(terms.end_date, actions.action_date)') }}))
        )
)
