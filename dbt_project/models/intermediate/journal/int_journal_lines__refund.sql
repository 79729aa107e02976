-- int_journal_lines__refund: a payment the processor refunded (refund:<payment_id>, the refunded row of
-- stg_payments): Dr customer credits for the payment's unused credit it refunds (line 1, at the credit's carrying
-- amount); Dr refunds payable for the rest, a cancellation refund (line 2); Cr cash clearing (line 3). Refunds
-- payable and the cash are new monetary lines, at the rate of the refund date rounded cumulatively over the two.

with fx as (

    select currency, rate_day, rate from {{ ref('int_fx_rates_daily') }}

),

refund_rows as (

    -- a refunded payment row, and the unused credit of the payment it takes back
    select
        refund.payment_id,
        refund.original_payment_id,
        refund.paid_date,
        refund.method,
        refund.customer_id,
        refund.currency,
        {{ to_cents('refund.amount') }} as amount_cents,
        {{ known_date('refund.recorded_date', 'refund.paid_date') }} as known_date,
        {{ rate_or_one('refund.currency', 'fx') }} as rate,
        coalesce((
            select sum(-{{ to_cents('credit.amount') }}) from {{ ref('fct_customer_credits') }} as credit
            where credit.payment_id = refund.original_payment_id and credit.movement_kind = 'refund'
        ), 0) as credit_taken_cents
    from {{ ref('stg_payments') }} as refund
    left join fx on fx.currency = refund.currency and fx.rate_day = refund.paid_date
    where refund.status = 'refunded' and refund.original_payment_id is not null

),

refunds as (

    -- a refund beyond the unused credit is a cancellation refund, paid out of refunds payable
    select
        refund_rows.*,
        case when amount_cents > credit_taken_cents then amount_cents - credit_taken_cents else 0 end
            as payable_cents
    from refund_rows

),

refund_entries as (

    select
        'refund:' || refunds.payment_id as entry_id, refunds.paid_date as entry_date, 'refund' as source,
        refunds.payment_id as source_id, 1 as line_number, 'customer_credits' as account_key,
        cast(null as {{ text_type() }}) as product_id, cast(null as {{ text_type() }}) as country,
        refunds.method as payment_method, cast(null as {{ text_type() }}) as invoice_id,
        cast(null as {{ text_type() }}) as obligation_id, refunds.customer_id, refunds.currency,
        -credit.amount_cents as amount_cents,
        credit.relief_functional_cents as functional_cents,
        refunds.known_date
    from refunds
    inner join {{ ref('int_carrying_amounts__customer_credits') }} as credit
        on credit.payment_id = refunds.original_payment_id and credit.movement_kind = 'refund'

    union all

    -- new lines in order: refunds payable, then the cash (cumulative rounding over the two)
    select
        'refund:' || payment_id, paid_date, 'refund', payment_id, 2, 'refunds_payable', null, null, method, null,
        null, customer_id, currency,
        payable_cents,
        {{ convert_cents('payable_cents', 'rate') }},
        known_date
    from refunds
    where payable_cents > 0

    union all

    select
        'refund:' || payment_id, paid_date, 'refund', payment_id, 3, 'cash_clearing',
        null, null, method, null, null, customer_id, currency,
        -amount_cents,
        {{ convert_cents('payable_cents - amount_cents', 'rate') }} - {{ convert_cents('payable_cents', 'rate') }},
        known_date
    from refunds

)

select * from refund_entries
