-- fct_payment_applications: what each payment paid, invoice by invoice (docs/computations.md, "Cash
-- application"). A chargeback's reversal is a negative application dated the chargeback; a credit
-- used by a later invoice is an application of the payment the credit came from, dated the later of
-- the two.

with records as (

    select * from {{ ref('int_cash_application') }}
    where record_type = 'application'

),

final as (

    select
        payment_id || ':' || cast(
            row_number() over (partition by payment_id order by record_number) as {{ text_type() }}
        ) as application_id,
        payment_id,
        invoice_id,
        customer_id,
        currency,
        event_date as applied_date,
        known_date,
        kind as application_kind,
        {{ cents_to_money('amount_cents') }} as applied_amount
    from records

)

select * from final
