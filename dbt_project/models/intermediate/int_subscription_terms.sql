-- int_subscription_terms: one row per subscription term, chained across renewals (the 'term' records
-- of int_billing_chains).

select
    subscription_id,
    term_number,
    order_id,
    term_source,
    source_order_id,
    customer_id,
    order_type,
    offer_id,
    term_unit,
    term_length,
    ordered_at,
    ordered_date,
    recorded_date,
    start_date,
    end_date,
    anchor_date,
    issue_ids,
    issue_count,
    schedule_product_id,
    quantity,
    currency,
    tax_rate,
    unit_price_cents,
    autorenew,
    payment_method_token,
    renewal_offer_id,
    settling_payment_id,
    autocharge_outcome
from {{ ref('int_billing_chains') }}
where record_type = 'term'
