-- fct_customer_credits: movements of customer credit (unapplied cash), per payment it came from.
-- excess (+): what a payment left after paying the open invoices; applied (−): used by an invoice;
-- chargeback (−) and refund (−): taken back with the payment. The sum per customer and currency is
-- the credit the customer holds tonight.

with records as (

    select * from {{ ref('int_cash_application') }}
    where record_type = 'credit'

),

final as (

    select
        payment_id || ':C' || cast(
            row_number() over (partition by payment_id order by record_number) as {{ text_type() }}
        ) as credit_movement_id,
        payment_id,
        customer_id,
        currency,
        event_date as movement_date,
        kind as movement_kind,
        invoice_id,
        {{ cents_to_money('amount_cents') }} as amount
    from records

)

select * from final
