-- Tax payable per country and currency = tax on invoices − tax reversed by credit notes and refunds, from the
-- billing marts, against rpt_tax_payable's closing balance of the last period.
{{ config(tags=["finance"], meta={"dagster": {"ref": {"name": "rpt_tax_payable"}}}) }}

with invoice_country as (

    select invoices.invoice_id, invoices.currency, countries.tax_country as country, invoices.tax_amount
    from {{ ref('fct_invoices') }} as invoices
    inner join {{ ref('int_invoice_tax_countries') }} as countries on countries.invoice_id = invoices.invoice_id

),

expected as (

    select country, currency, sum(amount) as tax_payable
    from (
        select country, currency, tax_amount as amount from invoice_country
        union all
        select invoice_country.country, invoice_country.currency, -notes.tax_amount
        from {{ ref('fct_credit_notes') }} as notes
        inner join invoice_country on invoice_country.invoice_id = notes.invoice_id
        union all
        select invoice_country.country, invoice_country.currency, -refunds.refund_tax_amount
        from {{ ref('fct_refunds') }} as refunds
        inner join invoice_country on invoice_country.invoice_id = refunds.invoice_id
    ) as movements
    group by country, currency

),

reported as (

    select country, currency, closing_tax_payable
    from {{ ref('rpt_tax_payable') }}
    where period = (select max(period) from {{ ref('rpt_tax_payable') }})

)

select
    coalesce(expected.country, reported.country) as country,
    coalesce(expected.currency, reported.currency) as currency,
    expected.tax_payable as expected,
    reported.closing_tax_payable as reported
from expected
full outer join reported
    on reported.country is not distinct from expected.country and reported.currency = expected.currency
where coalesce(expected.tax_payable, 0) <> coalesce(reported.closing_tax_payable, 0)
