-- int_credit_note_lines: the credit note of a term cancelled for nonpayment (DOMAIN "Invoice reminders"), per
-- obligation. The unserved value (each obligation's deferred remainder at S) is credited with its tax, up to
-- the balance open that day; the rest of the balance is written off. Tax on the credit is the invoice's tax
-- pro rata to the net credited; when the open balance caps the credit, net and tax shrink in proportion.
-- Splits are cumulative in line order, so the lines sum to the credit note.

with remainders as (

    select
        base.obligation_id,
        base.scheduled_cents as remainder_cents,
        base.recognition_date as credited_on,
        obligations.invoice_id,
        obligations.line_number,
        obligations.open_balance_at_stop_cents
    from {{ ref('int_revenue_schedule_base') }} as base
    inner join {{ ref('int_revenue_obligations') }} as obligations
        on obligations.obligation_id = base.obligation_id
    where base.line_kind = 'cancellation' and obligations.stop_reason = 'nonpayment'

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
        remainders.invoice_id,
        min(remainders.credited_on) as credited_on,
        min(remainders.open_balance_at_stop_cents) as open_balance_cents,
        sum(remainders.remainder_cents) as unserved_net_cents,
        min(invoices.net_cents) as net_cents,
        min(invoices.tax_cents) as tax_cents
    from remainders
    inner join invoices on invoices.invoice_id = remainders.invoice_id
    group by remainders.invoice_id

),

unserved as (

    select
        per_invoice.*,
        case when net_cents = 0 then 0
            else {{ div_round_half_up('cast(tax_cents as ' ~ wide_int() ~ ') * unserved_net_cents', 'net_cents') }}
        end as unserved_tax_cents
    from per_invoice

),

credited as (

    select
        unserved.*,
        least(unserved_net_cents + unserved_tax_cents, open_balance_cents) as credit_cents
    from unserved

),

split as (

    select
        credited.*,
        case
            when credit_cents = unserved_net_cents + unserved_tax_cents then unserved_tax_cents
            when unserved_net_cents + unserved_tax_cents = 0 then 0
            else {{ div_round_half_up(
                'cast(credit_cents as ' ~ wide_int() ~ ') * unserved_tax_cents',
                'unserved_net_cents + unserved_tax_cents') }}
        end as credited_tax_cents
    from credited
    where credit_cents > 0

),

lines as (

    select
        remainders.*,
        split.credit_cents - split.credited_tax_cents as invoice_credited_net_cents,
        split.credited_tax_cents as invoice_credited_tax_cents,
        split.unserved_net_cents,
        sum(remainders.remainder_cents) over (
            partition by remainders.invoice_id order by remainders.line_number
            rows between unbounded preceding and current row) as cumulative_remainder_cents
    from remainders
    inner join split on split.invoice_id = remainders.invoice_id

),

allocated as (

    select
        lines.*,
        case when unserved_net_cents = 0 then 0 else {{ div_round_half_up(
            'cast(invoice_credited_net_cents as ' ~ wide_int() ~ ') * cumulative_remainder_cents',
            'unserved_net_cents') }} end as cumulative_net_cents,
        case when unserved_net_cents = 0 then 0 else {{ div_round_half_up(
            'cast(invoice_credited_tax_cents as ' ~ wide_int() ~ ') * cumulative_remainder_cents',
            'unserved_net_cents') }} end as cumulative_tax_cents
    from lines

)

select
    'CN-' || invoice_id as credit_note_id,
    invoice_id,
    obligation_id,
    line_number,
    credited_on,
    remainder_cents,
    cumulative_net_cents - coalesce(lag(cumulative_net_cents) over (
        partition by invoice_id order by line_number), 0) as credited_net_cents,
    cumulative_tax_cents - coalesce(lag(cumulative_tax_cents) over (
        partition by invoice_id order by line_number), 0) as credited_tax_cents
from allocated
