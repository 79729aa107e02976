-- fct_upsell_candidates: who is offered what, and where (docs/computations.md, "Upsell"), as of D, from the
-- upsell_rules seed. A subscription with an active term (active, on hold or in grace tonight) of the rule's
-- from product, subscribed for at least min_tenure_days, whose customer holds no active term with a product of
-- the rule's without kind (a bundle's digital part counts), is offered the rule's to product: its cheapest
-- standard offer (one that renews to itself: not an introductory step) on sale tonight in the term's currency
-- and the customer's segment (or any). The first rule by priority wins per subscription. The offer rides the
-- term's next renewal notice due on or after D (touchpoint_id); is_marketable says whether the customer opted
-- in to that notice's channel (upsell is marketing: e-mail needs email_opt_in, a letter mail_opt_in).

with holdings as (

    -- every product of every active term, with its kind
    select
        subscriptions.subscription_id,
        subscriptions.term_number,
        subscriptions.customer_id,
        subscriptions.currency,
        components.product_id,
        products.kind
    from {{ ref('dim_subscriptions') }} as subscriptions
    inner join {{ ref('stg_offer_components') }} as components
        on components.offer_id = subscriptions.offer_id and components.is_current
    inner join {{ ref('stg_products') }} as products
        on products.product_id = components.product_id and products.is_current
    where subscriptions.status in ('active', 'on_hold', 'grace')

),

tenure as (

    select subscription_id, min(start_date) as first_start
    from {{ ref('int_subscription_terms') }}
    group by subscription_id

),

rules as (

    select * from {{ ref('upsell_rules') }}

),

customers as (

    select
        customer_id,
        segment,
        nullif(trim(email), '') is not null as has_email,
        email_opt_in,
        mail_opt_in,
        do_not_contact,
        deceased
    from {{ ref('stg_customers') }}
    where is_current

),

matched as (

    select
        holdings.subscription_id,
        holdings.term_number,
        holdings.customer_id,
        holdings.currency,
        holdings.product_id as from_product_id,
        {{ arg_min("rules.rule_id", "rules.priority") }} as rule_id
    from holdings
    inner join tenure on tenure.subscription_id = holdings.subscription_id
    inner join rules
        on rules.from_product_id = holdings.product_id
        and {{ dbt.datediff('tenure.first_start', business_date(), 'day') }} >= coalesce(rules.min_tenure_days, 0)
    where rules.without_product_kind is null
        or not exists (
            select 1 from holdings as held
            where held.customer_id = holdings.customer_id and held.kind = rules.without_product_kind
        )
    group by holdings.subscription_id, holdings.term_number, holdings.customer_id, holdings.currency,
        holdings.product_id

),

offers as (

    select offers.offer_id, offers.price, offers.currency, offers.segment, components.product_id
    from {{ ref('stg_offers') }} as offers
    inner join {{ ref('stg_offer_components') }} as components
        on components.offer_id = offers.offer_id and components.is_current
    where offers.is_current
        and offers.renewal_offer_id = offers.offer_id
        and offers.available_from <= {{ business_date() }}
        and (offers.available_to is null or {{ business_date() }} < offers.available_to)
        -- a single-product offer: the product on its own, not a bundle that contains it
        and not exists (
            select 1 from {{ ref('stg_offer_components') }} as other
            where other.offer_id = offers.offer_id and other.is_current and other.product_id <> components.product_id
        )

),

proposed as (

    select
        matched.*,
        rules.to_product_id,
        rules.touchpoint,
        customers.segment,
        customers.has_email,
        customers.email_opt_in,
        customers.mail_opt_in,
        customers.do_not_contact,
        customers.deceased,
        {{ arg_min("offers.offer_id", "lpad(cast(" ~ to_cents('offers.price') ~ " as " ~ text_type() ~ "), 18, '0') || offers.offer_id") }}
            as offer_id
    from matched
    inner join rules on rules.rule_id = matched.rule_id
    left join customers on customers.customer_id = matched.customer_id
    left join offers
        on offers.product_id = rules.to_product_id
        and offers.currency = matched.currency
        and (offers.segment is null or offers.segment = customers.segment)
    group by matched.subscription_id, matched.term_number, matched.customer_id, matched.currency,
        matched.from_product_id, matched.rule_id, rules.to_product_id, rules.touchpoint, customers.segment,
        customers.has_email, customers.email_opt_in, customers.mail_opt_in, customers.do_not_contact,
        customers.deceased

),

touchpoints as (

    select
        proposed.subscription_id,
        proposed.term_number,
        {{ arg_min("notices.notice_id", "notices.notice_number") }} as notice_id,
        min(notices.due_date) as touchpoint_date
    from proposed
    inner join {{ ref('fct_renewal_notices') }} as notices
        on notices.subscription_id = proposed.subscription_id
        and notices.term_number = proposed.term_number
        and notices.due_date >= {{ business_date() }}
    where proposed.touchpoint = 'renewal_notice'
    group by proposed.subscription_id, proposed.term_number

)

select
    proposed.rule_id || ':' || proposed.subscription_id || ':' || cast(proposed.term_number as {{ text_type() }})
        as upsell_id,
    proposed.rule_id,
    proposed.customer_id,
    proposed.subscription_id,
    proposed.term_number,
    proposed.from_product_id,
    proposed.to_product_id,
    proposed.offer_id,
    proposed.currency,
    proposed.touchpoint,
    touchpoints.notice_id as touchpoint_id,
    touchpoints.touchpoint_date,
    coalesce(
        not proposed.do_not_contact and not proposed.deceased
        and ((proposed.has_email and proposed.email_opt_in) or (not proposed.has_email and proposed.mail_opt_in)),
        false) as is_marketable
from proposed
left join touchpoints
    on touchpoints.subscription_id = proposed.subscription_id and touchpoints.term_number = proposed.term_number
where proposed.offer_id is not null
