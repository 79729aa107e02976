-- fct_refund_answers: every refund decision with an amount to pay back (fct_refunds) beside the processor's
-- answers to it, and every answer that answers no decision. An answer is a payment with status refunded whose
-- amount goes beyond the unused credit it takes back (that part is a refund of credit, not an answer): its
-- refunds-payable part, exactly what the ledger debits to refunds payable. Answers pair with decisions on the
-- payment refunded (original_payment_id), the customer and the currency, in order: decisions by decided_on then
-- refund_id, answers by paid_date then payment_id.
--   answer_status  open             no answer yet: refunds payable holds requested_amount
--                  answered         answered with exactly the amount decided
--                  amount_mismatch  answered with another amount (a warning test lists them)
--                  unrequested      an answer with no decision to answer (a warning test lists them)
-- Refunds payable per currency = sum(requested_amount) − sum(answered_amount) (blocking test
-- tests/ledger/assert_refunds_payable_is_the_unanswered_refunds.sql): zero once every refund is answered.

with decisions as (

    select
        refund_id,
        decided_on,
        is_requested,
        customer_id,
        currency,
        original_payment_id,
        refund_net_cents + refund_tax_cents as requested_cents,
        row_number() over (
            partition by original_payment_id, customer_id, currency order by decided_on, refund_id
        ) as pair_number
    from {{ ref('fct_refunds') }}
    where refund_net_cents + refund_tax_cents > 0

),

credit_taken as (

    select payment_id as original_payment_id, sum(-{{ to_cents('amount') }}) as credit_taken_cents
    from {{ ref('fct_customer_credits') }}
    where movement_kind = 'refund'
    group by payment_id

),

refunds as (

    select
        payments.payment_id,
        payments.paid_date,
        payments.recorded_date,
        payments.customer_id,
        payments.currency,
        payments.original_payment_id,
        payments.processor_reference,
        {{ to_cents('payments.amount') }} - coalesce(credit_taken.credit_taken_cents, 0) as answered_cents
    from {{ ref('stg_payments') }} as payments
    left join credit_taken on credit_taken.original_payment_id = payments.original_payment_id
    where payments.status = 'refunded' and payments.original_payment_id is not null

),

answers as (

    select
        refunds.*,
        row_number() over (
            partition by original_payment_id, customer_id, currency order by paid_date, payment_id
        ) as pair_number
    from refunds
    where answered_cents > 0

),

paired as (

    select
        coalesce(decisions.refund_id, 'unrequested:' || answers.payment_id) as refund_answer_id,
        decisions.refund_id,
        decisions.decided_on,
        coalesce(decisions.is_requested, false) as is_requested,
        coalesce(decisions.customer_id, answers.customer_id) as customer_id,
        coalesce(decisions.currency, answers.currency) as currency,
        coalesce(decisions.original_payment_id, answers.original_payment_id) as original_payment_id,
        coalesce(decisions.requested_cents, 0) as requested_cents,
        answers.payment_id as answer_payment_id,
        answers.paid_date as answered_on,
        answers.recorded_date as answer_recorded_date,
        answers.processor_reference,
        coalesce(answers.answered_cents, 0) as answered_cents
    from decisions
    full outer join answers
        on answers.original_payment_id = decisions.original_payment_id
        and answers.customer_id = decisions.customer_id
        and answers.currency = decisions.currency
        and answers.pair_number = decisions.pair_number

)

select
    refund_answer_id,
    refund_id,
    decided_on,
    is_requested,
    customer_id,
    currency,
    original_payment_id,
    {{ cents_to_money('requested_cents') }} as requested_amount,
    answer_payment_id,
    answered_on,
    answer_recorded_date,
    processor_reference,
    {{ cents_to_money('answered_cents') }} as answered_amount,
    {{ cents_to_money('requested_cents - answered_cents') }} as open_amount,
    case
        when refund_id is null then 'unrequested'
        when answer_payment_id is null then 'open'
        when answered_cents = requested_cents then 'answered'
        else 'amount_mismatch'
    end as answer_status
from paired
