-- fct_billing_efforts: invoice reminders. Effort k is due at invoice date + offset k (settings) while
-- a balance remains, as known that night; effort 1 (offset 0) is the invoice itself sent as a bill.
-- Efforts due before the cut-over date are state, never sent (is_sent = false).

with reminders as (

    select * from {{ ref('int_cash_application') }}
    where record_type = 'collection' and kind = 'reminder'

),

invoices as (

    select * from {{ ref('int_invoices') }}

),

final as (

    select
        reminders.invoice_id || ':E' || cast(reminders.effort_number as {{ text_type() }}) as effort_id,
        reminders.invoice_id,
        invoices.order_id,
        invoices.subscription_id,
        invoices.customer_id,
        invoices.currency,
        reminders.effort_number,
        reminders.event_date as due_date,
        {{ cents_to_money('reminders.amount_cents') }} as balance_due,
        {{ due_on_or_after_cutover('reminders.event_date') }} as is_sent
    from reminders
    inner join invoices on invoices.invoice_id = reminders.invoice_id

)

select * from final
