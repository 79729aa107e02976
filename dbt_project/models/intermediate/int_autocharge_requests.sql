-- int_autocharge_requests: every autocharge attempt requested so far (the 'request' records of
-- int_billing_chains); see fct_autocharge_requests.

select
    request_key,
    subscription_id,
    term_number,
    attempt,
    request_date,
    customer_id,
    currency,
    amount_cents,
    renewal_offer_id,
    payment_method_token,
    answer_payment_id,
    answer_status,
    answer_recorded_date
from {{ ref('int_billing_chains') }}
where record_type = 'request'
