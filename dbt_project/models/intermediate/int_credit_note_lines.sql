-- int_credit_note_lines: the credit note of a cancelled term, per obligation (invoice line).
--   nonpayment     (docs/computations.md, "Billing efforts, suspension and write-off") the unserved value
--                  (each obligation's deferred remainder at S) with its tax, up to the balance open that day;
--                  the rest of the balance is written off
--   cancellation   (docs/computations.md, "Cancellations, credit notes and refunds") what cash application
--                  credited at S under the credit policy (int_cancellation_decisions): the whole open balance
--                  inside the full-refund window, else the unserved value with its tax, up to the open
--                  balance
-- Tax on the credit is the invoice's tax pro rata to the net it covers: the unserved net (the whole invoice in
-- the full-refund window); when the open balance caps the credit, net and tax shrink in proportion. Lines
-- share the credit note by their deferred remainder (by their amount in the full-refund window), cumulatively
-- in line order, so the lines sum to the credit note.

with obligations as (

    select * from {{ ref('int_revenue_obligations') }}
    where stop_reason is not null

),

remainders as (

    select obligation_id, scheduled_cents as remainder_cents
    from {{ ref('int_revenue_schedule_base') }}
    where line_kind = 'cancellation'

),

decisions as (

    select invoice_id, refund_window from {{ ref('int_cancellation_decisions') }}

),

credited_at_stop as (

    -- what cash application credited at a customer's cancellation
    select invoice_id, sum(amount_cents) as credit_cents
    from {{ ref('int_cash_application') }}
    where record_type = 'collection' and kind = 'credit_note'
    group by invoice_id

),

lines as (

    select
        obligations.obligation_id,
        obligations.invoice_id,
        obligations.line_number,
        obligations.stop_reason,
        obligations.service_stop as credited_on,
        obligations.amount_cents,
        obligations.open_balance_at_stop_cents,
        coalesce(remainders.remainder_cents, 0) as remainder_cents,
        case when obligations.stop_reason = 'cancellation' then decisions.refund_window end as refund_window
    from obligations
    left join remainders on remainders.obligation_id = obligations.obligation_id
    left join decisions on decisions.invoice_id = obligations.invoice_id

),

invoices as (

    select
        invoice_id,
        {{ to_cents('net_amount') }} as net_cents,
        {{ to_cents('tax_amount') }} as tax_cents
    from {{ ref('int_invoices') }}

),

per_invoice as (

    select
        lines.invoice_id,
        min(lines.stop_reason) as stop_reason,
        min(lines.refund_window) as refund_window,
        min(lines.credited_on) as credited_on,
        min(lines.open_balance_at_stop_cents) as open_balance_cents,
        sum(lines.remainder_cents) as unserved_net_cents,
        min(invoices.net_cents) as net_cents,
        min(invoices.tax_cents) as tax_cents
    from lines
    inner join invoices on invoices.invoice_id = lines.invoice_id
    group by lines.invoice_id

),

basis as (

    -- the net the credit covers, and its tax
    select
        per_invoice.*,
        case when refund_window = 'full_refund' then net_cents else unserved_net_cents end as basis_net_cents,
        case
            when refund_window = 'full_refund' then tax_cents
            else {{ pro_rata_cents('tax_cents', 'unserved_net_cents', 'net_cents') }}
        end as basis_tax_cents
    from per_invoice

),

credited as (

    select
        basis.*,
        case
            when basis.stop_reason = 'nonpayment'
                then least(basis.basis_net_cents + basis.basis_tax_cents, basis.open_balance_cents)
            else coalesce(credited_at_stop.credit_cents, 0)
        end as credit_cents
    from basis
    left join credited_at_stop on credited_at_stop.invoice_id = basis.invoice_id

),

split as (

    select
        credited.*,
        case
            when credit_cents = basis_net_cents + basis_tax_cents then basis_tax_cents
            else {{ pro_rata_cents('credit_cents', 'basis_tax_cents', 'basis_net_cents + basis_tax_cents') }}
        end as credited_tax_cents
    from credited
    where credit_cents > 0

),

weighted as (

    select
        lines.*,
        split.credit_cents - split.credited_tax_cents as invoice_credited_net_cents,
        split.credited_tax_cents as invoice_credited_tax_cents,
        split.basis_net_cents,
        sum(case when split.refund_window = 'full_refund' then lines.amount_cents else lines.remainder_cents end)
            over (partition by lines.invoice_id order by lines.line_number
                rows between unbounded preceding and current row) as cumulative_weight_cents
    from lines
    inner join split on split.invoice_id = lines.invoice_id

),

allocated as (

    select
        weighted.*,
        case when basis_net_cents = 0 then 0 else {{ div_round_half_up(
            'cast(invoice_credited_net_cents as ' ~ wide_int() ~ ') * cumulative_weight_cents',
            'basis_net_cents') }} end as cumulative_net_cents,
        case when basis_net_cents = 0 then 0 else {{ div_round_half_up(
            'cast(invoice_credited_tax_cents as ' ~ wide_int() ~ ') * cumulative_weight_cents',
            'basis_net_cents') }} end as cumulative_tax_cents
    from weighted

)

select
    'CN-' || invoice_id as credit_note_id,
    invoice_id,
    obligation_id,
    line_number,
    stop_reason as reason,
    refund_window,
    credited_on,
    remainder_cents,
    amount_cents,
    cumulative_net_cents - coalesce(lag(cumulative_net_cents) over (
        partition by invoice_id order by line_number), 0) as credited_net_cents,
    cumulative_tax_cents - coalesce(lag(cumulative_tax_cents) over (
        partition by invoice_id order by line_number), 0) as credited_tax_cents
from allocated
