-- int_journal_lines__write_off: an invoice written off (write_off:<invoice_id>), for what the credit note left:
-- Dr the writeoff_account (bad debt expense, line 1); Cr AR (line 2), both at the receivable's carrying amount
-- (int_carrying_amounts__receivables).

with invoices as (

    select
        invoice_id,
        customer_id,
        currency,
        written_off_on,
        {{ to_cents('written_off_amount') }} as written_off_cents
    from {{ ref('fct_invoices') }}

),

write_offs as (

    select invoices.*, relief.relief_functional_cents
    from invoices
    inner join {{ ref('int_carrying_amounts__receivables') }} as relief
        on relief.invoice_id = invoices.invoice_id and relief.event_id = 'write_off'

),

write_off_entries as (

    select
        'write_off:' || invoice_id as entry_id, written_off_on as entry_date, 'write_off' as source,
        invoice_id as source_id, 1 as line_number, '{{ var("writeoff_account") }}' as account_key,
        cast(null as {{ text_type() }}) as product_id, cast(null as {{ text_type() }}) as country,
        cast(null as {{ text_type() }}) as payment_method, invoice_id, cast(null as {{ text_type() }}) as obligation_id, customer_id,
        currency,
        written_off_cents as amount_cents,
        relief_functional_cents as functional_cents,
        written_off_on as known_date
    from write_offs

    union all

    select
        'write_off:' || invoice_id, written_off_on, 'write_off', invoice_id, 2, 'accounts_receivable', null, null,
        null, invoice_id, null, customer_id, currency,
        -written_off_cents,
        -relief_functional_cents,
        written_off_on
    from write_offs

)

select * from write_off_entries
