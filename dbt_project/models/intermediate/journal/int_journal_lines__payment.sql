-- int_journal_lines__payment: the entries of settled payments (payment:<payment_id>): Cr customer credits for
-- the excess (line 1); Dr cash clearing per payment method (line 2); Cr AR per invoice paid (line 2 + n, in
-- application order). The credit and the cash are new monetary lines, at the rate of the payment date rounded
-- cumulatively over the two; AR is relieved at its carrying amount (int_carrying_amounts__receivables).

with fx as (

    select currency, rate_day, rate from {{ ref('int_fx_rates_daily') }}

),

payments as (

    select
        payments.payment_id,
        payments.customer_id,
        payments.currency,
        payments.paid_date,
        payments.method,
        payments.status,
        {{ to_cents('payments.amount') }} as amount_cents,
        {{ known_date('payments.recorded_date', 'payments.paid_date') }} as known_date,
        {{ rate_or_one('payments.currency', 'fx') }} as rate
    from {{ ref('stg_payments') }} as payments
    left join fx on fx.currency = payments.currency and fx.rate_day = payments.paid_date
    where payments.status = 'settled'

),

applications as (

    select
        application_id,
        payment_id,
        invoice_id,
        application_kind,
        {{ to_cents('applied_amount') }} as applied_cents
    from {{ ref('fct_payment_applications') }}

),

payment_excess as (

    select payment_id, sum({{ to_cents('amount') }}) as excess_cents
    from {{ ref('fct_customer_credits') }}
    where movement_kind = 'excess'
    group by payment_id

),

payment_entries as (

    -- new lines in order: the credit created, then the cash (cumulative rounding over the two)
    select
        'payment:' || payments.payment_id as entry_id, payments.paid_date as entry_date, 'payment' as source,
        payments.payment_id as source_id, 1 as line_number, 'customer_credits' as account_key,
        cast(null as {{ text_type() }}) as product_id, cast(null as {{ text_type() }}) as country, payments.method as payment_method,
        cast(null as {{ text_type() }}) as invoice_id, cast(null as {{ text_type() }}) as obligation_id, payments.customer_id,
        payments.currency,
        -payment_excess.excess_cents as amount_cents,
        -{{ convert_cents('payment_excess.excess_cents', 'payments.rate') }} as functional_cents,
        payments.known_date
    from payments
    inner join payment_excess on payment_excess.payment_id = payments.payment_id

    union all

    select
        'payment:' || payments.payment_id, payments.paid_date, 'payment', payments.payment_id, 2, 'cash_clearing',
        null, null, payments.method, null, null, payments.customer_id, payments.currency,
        payments.amount_cents,
        {{ convert_cents('payments.amount_cents - coalesce(payment_excess.excess_cents, 0)', 'payments.rate') }}
            + {{ convert_cents('coalesce(payment_excess.excess_cents, 0)', 'payments.rate') }},
        payments.known_date
    from payments
    left join payment_excess on payment_excess.payment_id = payments.payment_id

    union all

    select
        'payment:' || payments.payment_id, payments.paid_date, 'payment', payments.payment_id,
        2 + row_number() over (partition by payments.payment_id order by applications.application_id),
        'accounts_receivable', null, null, payments.method, applications.invoice_id, null, payments.customer_id,
        payments.currency,
        -applications.applied_cents,
        -relief.relief_functional_cents,
        payments.known_date
    from payments
    inner join applications
        on applications.payment_id = payments.payment_id and applications.application_kind = 'payment'
    inner join {{ ref('int_carrying_amounts__receivables') }} as relief on relief.event_id = applications.application_id

)

select * from payment_entries
