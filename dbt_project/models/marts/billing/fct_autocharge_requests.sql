-- fct_autocharge_requests: every autocharge attempt requested for an autorenew term with a stored
-- payment method: attempt 1 at term end − lead days, retries at attempt 1 + retry offsets once the
-- previous failure is recorded. request_key = hash(subscription, term number, attempt): the
-- processor's idempotency key. Requests due before the cut-over are state, never sent.

with requests as (

    select * from {{ ref('int_autocharge_requests') }}

),

final as (

    select
        request_key,
        subscription_id,
        term_number,
        attempt,
        request_date,
        customer_id,
        renewal_offer_id,
        currency,
        {{ cents_to_money('amount_cents') }} as amount,
        payment_method_token,
        answer_payment_id,
        coalesce(answer_status, 'awaiting_answer') as request_status,
        answer_recorded_date,
        {{ due_on_or_after_cutover('request_date') }} as is_sent
    from requests

)

select * from final
