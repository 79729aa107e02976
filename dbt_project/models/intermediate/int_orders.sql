-- int_orders: every order that makes a term: the orders feed, plus the renewal orders the pipeline
-- creates (docs/computations.md, "Invoices"): when an autocharge settles (prepaid by that
-- payment), and at term end − lead days for an autorenew term without a stored payment method
-- (autobill: invoiced, net 30). A derived order is priced from the renewal offer, taxed at the rate of
-- the order it carries on from, and ships where that order shipped.

with feed as (

    select
        order_id,
        customer_id,
        subscription_id,
        ordered_at,
        ordered_date,
        order_type,
        offer_id,
        quantity,
        unit_price,
        discount,
        tax_rate,
        tax_amount,
        currency,
        service_start,
        autorenew,
        payment_method_token,
        payment_terms,
        ship_to_name,
        ship_to_address_line1,
        ship_to_address_line2,
        ship_to_city,
        ship_to_region,
        ship_to_postal_code,
        ship_to_country,
        promotion_code,
        recorded_date,
        'order' as order_source,
        cast(null as {{ text_type() }}) as settling_payment_id
    from {{ ref('stg_orders') }}

),

derived_terms as (

    select
        terms.*,
        {{ cents_to_money('terms.unit_price_cents') }} as unit_price,
        cast(terms.tax_rate as decimal(18, 8)) as rate
    from {{ ref('int_subscription_terms') }} as terms
    where terms.term_source in ('autocharge', 'autobill')

),

derived as (

    select
        terms.order_id,
        terms.customer_id,
        terms.subscription_id,
        terms.ordered_at,
        terms.ordered_date,
        terms.order_type,
        terms.offer_id,
        terms.quantity,
        terms.unit_price,
        cast(0 as decimal(18, 2)) as discount,
        terms.rate as tax_rate,
        cast(round(terms.quantity * terms.unit_price * terms.rate, 2) as decimal(18, 2)) as tax_amount,
        terms.currency,
        terms.start_date as service_start,
        terms.autorenew,
        terms.payment_method_token,
        case when terms.term_source = 'autobill' then 'net_30' else 'prepaid' end as payment_terms,
        source.ship_to_name,
        source.ship_to_address_line1,
        source.ship_to_address_line2,
        source.ship_to_city,
        source.ship_to_region,
        source.ship_to_postal_code,
        source.ship_to_country,
        source.promotion_code,
        terms.recorded_date,
        terms.term_source as order_source,
        terms.settling_payment_id
    from derived_terms as terms
    inner join {{ ref('stg_orders') }} as source
        on source.order_id = terms.source_order_id

),

final as (

    select * from feed
    union all
    select * from derived

)

select * from final
