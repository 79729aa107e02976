-- int_payments: payments in integer cents with the invoice each one names, if any: directly
-- (invoice_id), through its order (order_id), or as the settled answer that created a renewal
-- invoice (autocharge). The input of cash application.

with payments as (

    select * from {{ ref('stg_payments') }}

),

invoices as (

    select invoice_id, order_id, customer_id, currency, settling_payment_id
    from {{ ref('int_invoices') }}

),

final as (

    select
        payments.payment_id,
        payments.customer_id,
        payments.currency,
        payments.paid_at,
        payments.paid_date,
        payments.recorded_date,
        payments.known_date,
        {{ to_cents('payments.amount') }} as amount_cents,
        payments.status,
        coalesce(by_id.invoice_id, by_order.invoice_id, by_answer.invoice_id) as target_invoice_id,
        payments.original_payment_id,
        payments.method,
        payments.autocharge_request_key
    from payments
    left join invoices as by_id
        on by_id.invoice_id = payments.invoice_id
        and by_id.customer_id = payments.customer_id
        and by_id.currency = payments.currency
    left join invoices as by_order
        on by_order.order_id = payments.order_id
        and by_order.customer_id = payments.customer_id
        and by_order.currency = payments.currency
    left join invoices as by_answer
        on by_answer.settling_payment_id = payments.payment_id

)

select * from final
