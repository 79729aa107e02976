-- int_journal_lines__invoice: the invoice entries of the journal (int_journal_lines), one per invoice
-- (invoice:<invoice_id>): Dr AR (line 1, the total); Cr deferred revenue per invoice line (line 1 + its number, the
-- obligation); Cr tax payable (line 1000, int_invoice_tax_countries). New monetary lines: functional amounts at
-- the rate of the invoice date, rounded cumulatively in line order. What AR, deferred revenue and tax payable
-- are booked at is read from here by the carrying amounts and the entries that relieve them.

with fx as (

    select currency, rate_day, rate from {{ ref('int_fx_rates_daily') }}

),

invoices as (

    select
        invoices.invoice_id,
        invoices.invoice_date,
        invoices.customer_id,
        invoices.currency,
        {{ to_cents('invoices.total_amount') }} as total_cents,
        {{ to_cents('invoices.tax_amount') }} as tax_cents,
        tax_countries.tax_country,
        {{ known_date('invoices.recorded_date', 'invoices.invoice_date') }} as known_date,
        {{ rate_or_one('invoices.currency', 'fx') }} as rate
    from {{ ref('fct_invoices') }} as invoices
    left join {{ ref('int_invoice_tax_countries') }} as tax_countries on tax_countries.invoice_id = invoices.invoice_id
    left join fx on fx.currency = invoices.currency and fx.rate_day = invoices.invoice_date

),

invoice_lines as (

    select
        lines.invoice_line_id,
        lines.invoice_id,
        lines.line_number,
        lines.product_id,
        {{ to_cents('lines.net_amount') }} as net_cents,
        sum({{ to_cents('lines.net_amount') }}) over (
            partition by lines.invoice_id order by lines.line_number
            rows between unbounded preceding and current row) as cumulative_net_cents
    from {{ ref('fct_invoice_lines') }} as lines

),

invoice_entries as (

    select
        'invoice:' || invoices.invoice_id as entry_id, invoices.invoice_date as entry_date, 'invoice' as source,
        invoices.invoice_id as source_id, 1 as line_number, 'accounts_receivable' as account_key,
        cast(null as {{ text_type() }}) as product_id, cast(null as {{ text_type() }}) as country,
        cast(null as {{ text_type() }}) as payment_method, invoices.invoice_id, cast(null as {{ text_type() }}) as obligation_id,
        invoices.customer_id, invoices.currency,
        invoices.total_cents as amount_cents,
        {{ convert_cents('invoices.total_cents', 'invoices.rate') }} as functional_cents,
        invoices.known_date
    from invoices

    union all

    select
        'invoice:' || invoices.invoice_id, invoices.invoice_date, 'invoice', invoices.invoice_id,
        1 + lines.line_number, 'deferred_revenue', lines.product_id, null, null, invoices.invoice_id,
        lines.invoice_line_id, invoices.customer_id, invoices.currency,
        -lines.net_cents,
        {{ convert_cents('invoices.total_cents - lines.cumulative_net_cents', 'invoices.rate') }}
            - {{ convert_cents('invoices.total_cents - lines.cumulative_net_cents + lines.net_cents', 'invoices.rate') }},
        invoices.known_date
    from invoices
    inner join invoice_lines as lines on lines.invoice_id = invoices.invoice_id

    union all

    select
        'invoice:' || invoice_id, invoice_date, 'invoice', invoice_id, 1000, 'tax_payable', null, tax_country,
        null, invoice_id, null, customer_id, currency,
        -tax_cents,
        -{{ convert_cents('tax_cents', 'rate') }},
        known_date
    from invoices
    where tax_cents <> 0

)

select * from invoice_entries
