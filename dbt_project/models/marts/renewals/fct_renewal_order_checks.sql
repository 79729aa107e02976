-- fct_renewal_order_checks: every renewal order that arrived in the orders feed, checked against the autorenew
-- chain (docs/computations.md, "Renewal orders against the chain"): the previous term names its renewal offer,
-- and that offer's price (its version when the order was recorded) is what a renewal should cost per copy. A
-- different offer, or a different unit price, is reported here (check_status mismatch) rather than silently
-- accepted; a promotion code explains a discount, not a different offer. The renewals the pipeline creates
-- (autocharge, autobill) are priced from the chain and need no check.

with terms as (

    select subscription_id, term_number, order_id, renewal_offer_id
    from {{ ref('int_subscription_terms') }}

),

renewals as (

    select
        orders.order_id,
        orders.customer_id,
        orders.subscription_id,
        orders.ordered_date,
        orders.recorded_date,
        orders.offer_id,
        orders.unit_price,
        orders.discount,
        orders.promotion_code,
        orders.currency,
        terms.term_number,
        previous.renewal_offer_id as expected_offer_id
    from {{ ref('int_orders') }} as orders
    inner join terms on terms.order_id = orders.order_id
    inner join terms as previous
        on previous.subscription_id = terms.subscription_id and previous.term_number = terms.term_number - 1
    where orders.order_source = 'order' and orders.order_type = 'renewal'

),

priced as (

    select
        renewals.*,
        offers.price as expected_unit_price
    from renewals
    left join {{ ref('stg_offers') }} as offers
        on offers.offer_id = renewals.expected_offer_id
        and offers.valid_from <= renewals.recorded_date
        and (offers.valid_to is null or renewals.recorded_date < offers.valid_to)

)

select
    order_id,
    customer_id,
    subscription_id,
    term_number,
    ordered_date,
    offer_id,
    expected_offer_id,
    unit_price,
    expected_unit_price,
    discount,
    promotion_code,
    currency,
    case
        when expected_offer_id is null then 'no_chain'
        when offer_id <> expected_offer_id then 'offer_mismatch'
        when expected_unit_price is null or unit_price <> expected_unit_price then 'price_mismatch'
        else 'matches'
    end as check_result,
    case
        when expected_offer_id is null or (offer_id = expected_offer_id and unit_price = expected_unit_price)
            then 'ok'
        else 'mismatch'
    end as check_status
from priced
