-- int_carrying_amounts__receivables: what each event that relieves (or, for a chargeback, reinstates) an
-- invoice's receivable takes off AR in functional currency (docs/conventions.md, "Foreign exchange"). AR is booked
-- at the invoice's rate (int_journal_lines__invoice, line 1); its events, in order (date, then payment
-- applications, the credit note, the write-off), relieve their share of that carrying amount, cumulatively, so
-- an invoice relieved in full is relieved at exactly what it was booked at. Read by the payment, credit use,
-- chargeback, credit note and write-off entries.

with ar_booked as (

    select invoice_id, amount_cents as ar_cents, functional_cents as ar_functional_cents
    from {{ ref('int_journal_lines__invoice') }}
    where account_key = 'accounts_receivable'

),

ar_events as (

    -- what relieves (or, for a chargeback, reinstates) an invoice's receivable, in order
    select
        invoice_id, applied_date as event_date, 1 as event_order, application_id as event_id,
        {{ to_cents('applied_amount') }} as applied_cents
    from {{ ref('fct_payment_applications') }}
    union all
    select invoice_id, credit_note_date, 2, 'credit_note', {{ to_cents('total_amount') }}
    from {{ ref('fct_credit_notes') }}
    union all
    select invoice_id, written_off_on, 3, 'write_off', {{ to_cents('written_off_amount') }}
    from {{ ref('fct_invoices') }}
    where {{ to_cents('written_off_amount') }} <> 0

),

ar_relief as (

    select
        ar_events.*,
        {{ carrying_share('ar_booked.ar_functional_cents',
            'sum(ar_events.applied_cents) over (partition by ar_events.invoice_id order by ar_events.event_date, '
            ~ 'ar_events.event_order, ar_events.event_id rows between unbounded preceding and current row)',
            'ar_booked.ar_cents') }} as cumulative_functional_cents
    from ar_events
    inner join ar_booked on ar_booked.invoice_id = ar_events.invoice_id

),

ar_relief_functional as (

    select
        event_id,
        invoice_id,
        event_date,
        event_order,
        applied_cents,
        cumulative_functional_cents,
        cumulative_functional_cents - coalesce(lag(cumulative_functional_cents) over (
            partition by invoice_id order by event_date, event_order, event_id), 0) as relief_functional_cents
    from ar_relief

)

select * from ar_relief_functional
