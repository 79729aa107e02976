-- A payment that names an invoice names one of its own customer, in its currency (a warning for finance, never
-- blocking). Invoices are computed here, not delivered in a feed, so ingestion cannot check the name: a payment
-- naming an invoice this warehouse does not hold as of tonight (a typo, another system's number, or an invoice
-- issued later) is held as the customer's credit until such an invoice is known, and one naming another
-- customer's invoice or an invoice in another currency pays the payer's own open invoices in its currency.
-- Either way the cash goes where the rules send it, and finance should know the payer's reference was not used.
-- Returns each such payment with what is wrong.
{{ config(severity="warn", tags=["billing"], meta={"dagster": {"ref": {"name": "stg_payments"}}}) }}

select payments.payment_id, payments.customer_id, payments.invoice_id, payments.currency,
    case
        when invoices.invoice_id is null then 'no such invoice'
        when invoices.customer_id <> payments.customer_id then 'invoice of customer ' || invoices.customer_id
        else 'invoice in ' || invoices.currency
    end as problem
from {{ ref('stg_payments') }} as payments
left join {{ ref('fct_invoices') }} as invoices on invoices.invoice_id = payments.invoice_id
where payments.invoice_id is not null
    and (invoices.invoice_id is null or invoices.customer_id <> payments.customer_id
         or invoices.currency <> payments.currency)
