-- fct_invoices: one invoice per order with its status and balance as of the business date.
-- balance = total − applications − credit notes − write-offs; status: written_off (cancelled for nonpayment:
-- the unserved part credited, the rest to bad debt), else with no balance left credited (a credit note took
-- part of it) or paid, else partially_paid (something was paid or credited) or open.

with invoices as (

    select * from {{ ref('int_invoices') }}

),

records as (

    select * from {{ ref('int_cash_application') }}

),

applied as (

    select invoice_id, sum(amount_cents) as applied_cents, max(event_date) as last_applied_date
    from records
    where record_type = 'application'
    group by invoice_id

),

collections as (

    select
        invoice_id,
        max(case when kind = 'reminder' then effort_number end) as efforts_sent,
        max(case when kind = 'suspension' then event_date end) as suspended_on,
        max(case when kind = 'reinstatement' then event_date end) as reinstated_on,
        max(case when kind = 'write_off' then event_date end) as written_off_on,
        coalesce(sum(case when kind = 'write_off' then amount_cents end), 0) as written_off_cents
    from records
    where record_type = 'collection'
    group by invoice_id

),

credit_notes as (

    select
        invoice_id,
        {{ to_cents('total_amount') }} as credited_cents,
        -- cash application writes off the whole balance at a nonpayment cancellation; its credit note is part of it
        case when reason = 'nonpayment' then {{ to_cents('total_amount') }} else 0 end as nonpayment_credited_cents
    from {{ ref('fct_credit_notes') }}

),

balances as (

    select
        invoices.*,
        {{ to_cents('invoices.total_amount') }} as total_cents,
        coalesce(applied.applied_cents, 0) as applied_cents,
        coalesce(credit_notes.credited_cents, 0) as credited_cents,
        -- the balance open at the nonpayment cancellation, less what the credit note took
        coalesce(collections.written_off_cents, 0) - coalesce(credit_notes.nonpayment_credited_cents, 0)
            as written_off_cents,
        applied.last_applied_date,
        coalesce(collections.efforts_sent, 0) as efforts_sent,
        collections.suspended_on,
        collections.reinstated_on,
        collections.written_off_on
    from invoices
    left join applied on applied.invoice_id = invoices.invoice_id
    left join collections on collections.invoice_id = invoices.invoice_id
    left join credit_notes on credit_notes.invoice_id = invoices.invoice_id

),

final as (

    select
        invoice_id,
        order_id,
        customer_id,
        subscription_id,
        order_type,
        order_source,
        offer_id,
        invoice_date,
        due_date,
        payment_terms,
        currency,
        gross_amount,
        discount_amount,
        net_amount,
        tax_rate,
        tax_amount,
        total_amount,
        {{ cents_to_money('applied_cents') }} as applied_amount,
        {{ cents_to_money('credited_cents') }} as credited_amount,
        {{ cents_to_money('written_off_cents') }} as written_off_amount,
        {{ cents_to_money('total_cents - applied_cents - credited_cents - written_off_cents') }} as balance_due,
        case
            when written_off_cents > 0 then 'written_off'
            when total_cents - applied_cents - credited_cents = 0 and credited_cents > 0 then 'credited'
            when total_cents - applied_cents - credited_cents = 0 then 'paid'
            when applied_cents > 0 or credited_cents > 0 then 'partially_paid'
            else 'open'
        end as invoice_status,
        case when credited_cents = 0 and total_cents - applied_cents - written_off_cents = 0
            then last_applied_date end as paid_date,
        efforts_sent,
        suspended_on,
        case when reinstated_on >= suspended_on then reinstated_on end as reinstated_on,
        written_off_on,
        case
            when total_cents - applied_cents - credited_cents - written_off_cents > 0
                and due_date < {{ business_date() }}
                then {{ dbt.datediff('due_date', business_date(), 'day') }}
            else 0
        end as days_overdue,
        recorded_date
    from balances

)

select * from final
