-- int_journal_lines__credit_note: a credit note for the unserved value of an invoice
-- (credit_note:<credit_note_id>): Dr deferred revenue per obligation (line 1 + its number, at the release's
-- carrying amount, int_carrying_amounts__deferred_revenue); Dr tax payable for its tax (line 1000, its share of the
-- invoice's tax as booked, cumulatively over the invoice's credit notes); Cr AR (line 2000, at the receivable's
-- carrying amount, int_carrying_amounts__receivables).

with invoices as (

    select
        invoices.invoice_id,
        invoices.customer_id,
        invoices.currency,
        tax_countries.tax_country
    from {{ ref('fct_invoices') }} as invoices
    left join {{ ref('int_invoice_tax_countries') }} as tax_countries on tax_countries.invoice_id = invoices.invoice_id

),

credit_note_lines as (

    select
        lines.*,
        invoices.customer_id,
        invoices.currency,
        invoices.tax_country
    from {{ ref('int_credit_note_lines') }} as lines
    inner join invoices on invoices.invoice_id = lines.invoice_id

),

tax_booked as (

    select invoice_id, -functional_cents as tax_functional_cents, -amount_cents as booked_tax_cents
    from {{ ref('int_journal_lines__invoice') }}
    where account_key = 'tax_payable'

),

credit_note_entries as (

    -- deferred revenue and tax payable are relieved at their carrying amount, like the AR they credit
    select
        'credit_note:' || lines.credit_note_id as entry_id, lines.credited_on as entry_date,
        'credit_note' as source, lines.credit_note_id as source_id, 1 + lines.line_number as line_number,
        'deferred_revenue' as account_key, obligations.product_id, cast(null as {{ text_type() }}) as country,
        cast(null as {{ text_type() }}) as payment_method, lines.invoice_id, lines.obligation_id, lines.customer_id,
        lines.currency,
        lines.credited_net_cents as amount_cents,
        released.released_functional_cents as functional_cents,
        lines.credited_on as known_date
    from credit_note_lines as lines
    inner join {{ ref('int_revenue_obligations') }} as obligations on obligations.obligation_id = lines.obligation_id
    inner join {{ ref('int_carrying_amounts__deferred_revenue') }} as released
        on released.obligation_id = lines.obligation_id and released.line_kind = 'credit_note'

    union all

    select
        'credit_note:' || lines.credit_note_id, min(lines.credited_on), 'credit_note', lines.credit_note_id, 1000,
        'tax_payable', null, min(lines.tax_country), null, lines.invoice_id, null, min(lines.customer_id),
        min(lines.currency),
        sum(lines.credited_tax_cents),
        min({{ carrying_share('tax_booked.tax_functional_cents', 'lines.credited_tax_total', 'tax_booked.booked_tax_cents') }}),
        min(lines.credited_on)
    from (
        select credit_note_lines.*, sum(credited_tax_cents) over (partition by invoice_id) as credited_tax_total
        from credit_note_lines
    ) as lines
    inner join tax_booked on tax_booked.invoice_id = lines.invoice_id
    group by lines.credit_note_id, lines.invoice_id
    having sum(lines.credited_tax_cents) <> 0

    union all

    select
        'credit_note:' || notes.credit_note_id, notes.credit_note_date, 'credit_note', notes.credit_note_id, 2000,
        'accounts_receivable', null, null, null, notes.invoice_id, null, notes.customer_id, notes.currency,
        -{{ to_cents('notes.total_amount') }},
        -relief.relief_functional_cents,
        notes.credit_note_date
    from {{ ref('fct_credit_notes') }} as notes
    inner join {{ ref('int_carrying_amounts__receivables') }} as relief
        on relief.invoice_id = notes.invoice_id and relief.event_id = 'credit_note'

)

select * from credit_note_entries
