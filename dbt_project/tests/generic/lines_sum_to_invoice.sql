{# Invoices whose lines do not sum to the invoice's net and tax, to the cent. #}
{% test lines_sum_to_invoice(model) %}
    with lines as (
        select invoice_id, sum(net_amount) as net_amount, sum(tax_amount) as tax_amount
        from {{ model }}
        group by invoice_id
    )
    select invoices.invoice_id, invoices.net_amount, lines.net_amount as lines_net,
           invoices.tax_amount, lines.tax_amount as lines_tax
    from {{ ref('int_invoices') }} as invoices
    left join lines on lines.invoice_id = invoices.invoice_id
    where lines.invoice_id is null
        or lines.net_amount <> invoices.net_amount
        or lines.tax_amount <> invoices.tax_amount
{% endtest %}
