-- int_invoice_tax_countries: the country whose tax an invoice charges: where the goods go, i.e. the order's
-- ship-to country (a gift's recipient), else the customer's country as known when the invoice was recorded
-- (the first known address for an invoice older than the customer row). A later move never changes it.

with first_known as (

    select customer_id, {{ arg_min("country", "valid_from") }} as country
    from {{ ref('stg_customers') }}
    group by customer_id

)

select
    invoices.invoice_id,
    coalesce(orders.ship_to_country, at_invoice.country, first_known.country) as tax_country
from {{ ref('int_invoices') }} as invoices
inner join {{ ref('int_orders') }} as orders on orders.order_id = invoices.order_id
left join {{ ref('stg_customers') }} as at_invoice
    on at_invoice.customer_id = invoices.customer_id
    and at_invoice.valid_from <= invoices.recorded_date
    and (at_invoice.valid_to is null or invoices.recorded_date < at_invoice.valid_to)
left join first_known on first_known.customer_id = invoices.customer_id
