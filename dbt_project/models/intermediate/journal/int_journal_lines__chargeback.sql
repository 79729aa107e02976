-- int_journal_lines__chargeback: a chargeback of a payment (chargeback:<payment_id>, the chargeback row of
-- stg_payments): Dr customer credits for the payment's unused credit the chargeback takes back (line 1, at the
-- credit's carrying amount); Cr cash clearing (line 3, at the rate of the chargeback date); Dr AR for every
-- application it reverses (line 3 + n, in application order, at the receivable's carrying amount).

with fx as (

    select currency, rate_day, rate from {{ ref('int_fx_rates_daily') }}

),

chargebacks as (

    select
        payments.payment_id,
        payments.original_payment_id,
        payments.paid_date,
        payments.method,
        payments.customer_id,
        payments.currency,
        {{ to_cents('payments.amount') }} as amount_cents,
        {{ known_date('payments.recorded_date', 'payments.paid_date') }} as known_date,
        {{ rate_or_one('payments.currency', 'fx') }} as rate
    from {{ ref('stg_payments') }} as payments
    left join fx on fx.currency = payments.currency and fx.rate_day = payments.paid_date
    where payments.status = 'chargeback' and payments.original_payment_id is not null

),

chargeback_entries as (

    select
        'chargeback:' || chargebacks.payment_id as entry_id, chargebacks.paid_date as entry_date,
        'chargeback' as source, chargebacks.payment_id as source_id, 1 as line_number,
        'customer_credits' as account_key, cast(null as {{ text_type() }}) as product_id, cast(null as {{ text_type() }}) as country,
        chargebacks.method as payment_method, cast(null as {{ text_type() }}) as invoice_id,
        cast(null as {{ text_type() }}) as obligation_id, chargebacks.customer_id, chargebacks.currency,
        -credit.amount_cents as amount_cents,
        credit.relief_functional_cents as functional_cents,
        chargebacks.known_date
    from chargebacks
    inner join {{ ref('int_carrying_amounts__customer_credits') }} as credit
        on credit.payment_id = chargebacks.original_payment_id and credit.movement_kind = 'chargeback'

    union all

    select
        'chargeback:' || payment_id, paid_date, 'chargeback', payment_id, 3, 'cash_clearing',
        null, null, method, null, null, customer_id, currency,
        -amount_cents,
        {{ convert_cents('-amount_cents', 'rate') }},
        known_date
    from chargebacks

    union all

    select
        'chargeback:' || chargebacks.payment_id, chargebacks.paid_date, 'chargeback', chargebacks.payment_id,
        3 + row_number() over (partition by chargebacks.payment_id order by applications.application_id),
        'accounts_receivable', null, null, chargebacks.method, applications.invoice_id, null,
        chargebacks.customer_id, chargebacks.currency,
        -{{ to_cents('applications.applied_amount') }},
        -relief.relief_functional_cents,
        chargebacks.known_date
    from chargebacks
    inner join {{ ref('fct_payment_applications') }} as applications
        on applications.payment_id = chargebacks.original_payment_id
        and applications.application_kind = 'chargeback'
    inner join {{ ref('int_carrying_amounts__receivables') }} as relief on relief.event_id = applications.application_id

)

select * from chargeback_entries
