-- fct_credit_notes: one credit note per invoice of a cancelled term, dated its service stop S, with its tax
-- (int_credit_note_lines). reason nonpayment: the unserved value up to the balance open that day
-- (docs/computations.md, "Billing efforts, suspension and write-off"); reason cancellation: what the
-- customer's credit policy credited against the open balance (docs/computations.md, "Cancellations,
-- credit notes and refunds").

select
    credit_note_id,
    min(lines.invoice_id) as invoice_id,
    min(invoices.customer_id) as customer_id,
    min(invoices.currency) as currency,
    min(lines.credited_on) as credit_note_date,
    min(lines.reason) as reason,
    min(lines.refund_window) as refund_window,
    {{ cents_to_money('sum(lines.credited_net_cents)') }} as net_amount,
    {{ cents_to_money('sum(lines.credited_tax_cents)') }} as tax_amount,
    {{ cents_to_money('sum(lines.credited_net_cents + lines.credited_tax_cents)') }} as total_amount
from {{ ref('int_credit_note_lines') }} as lines
inner join {{ ref('int_invoices') }} as invoices on invoices.invoice_id = lines.invoice_id
group by credit_note_id
