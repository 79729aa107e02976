-- int_refund_lines: a refund decision (fct_refunds) per obligation (invoice line), at S: the net refunded, the
-- cancellation fee and, in the full-refund window, the revenue already recognised that is reversed.
--   full_refund   each line gives back all of its amount: what its credit note did not take is refunded;
--                 what was recognised before S is reversed (reversed_cents = amount − deferred remainder)
--   prorated      the refund, then the fee, are shared by what each line's remainder has left (remainder −
--                 credited, then − refunded), cumulatively in line order, so no line gives more than it has
-- What is left of a line's remainder is recognised at S (fct_revenue_schedule).

with refunds as (

    select refund_id, invoice_id, decided_on, refund_window, refund_net_cents, fee_cents
    from {{ ref('fct_refunds') }}
    where refund_net_cents <> 0 or fee_cents <> 0 or reversed_cents <> 0

),

lines as (

    select
        refunds.refund_id,
        refunds.invoice_id,
        refunds.decided_on,
        refunds.refund_window,
        refunds.refund_net_cents,
        refunds.fee_cents as invoice_fee_cents,
        obligations.obligation_id,
        obligations.line_number,
        obligations.amount_cents,
        coalesce(remainders.scheduled_cents, 0) as remainder_cents,
        coalesce(credits.credited_net_cents, 0) as credited_net_cents
    from refunds
    inner join {{ ref('int_revenue_obligations') }} as obligations on obligations.invoice_id = refunds.invoice_id
    left join {{ ref('int_revenue_schedule_base') }} as remainders
        on remainders.obligation_id = obligations.obligation_id and remainders.line_kind = 'cancellation'
    left join {{ ref('int_credit_note_lines') }} as credits on credits.obligation_id = obligations.obligation_id

),

refund_shares as (

    select
        lines.*,
        sum(remainder_cents - credited_net_cents) over (partition by invoice_id) as refund_basis_cents,
        sum(remainder_cents - credited_net_cents) over (partition by invoice_id order by line_number
            rows between unbounded preceding and current row) as cumulative_refund_basis_cents
    from lines

),

refunded as (

    select
        refund_shares.*,
        case
            when refund_window = 'full_refund' then amount_cents - credited_net_cents
            when refund_basis_cents = 0 then 0
            else {{ div_round_half_up('cast(refund_net_cents as ' ~ wide_int() ~ ') * cumulative_refund_basis_cents',
                'refund_basis_cents') }} - coalesce({{ div_round_half_up(
                    'cast(refund_net_cents as ' ~ wide_int() ~ ') * (cumulative_refund_basis_cents - remainder_cents + credited_net_cents)',
                    'refund_basis_cents') }}, 0)
        end as refunded_net_cents
    from refund_shares

),

fee_shares as (

    select
        refunded.*,
        sum(remainder_cents - credited_net_cents - refunded_net_cents) over (partition by invoice_id)
            as fee_basis_cents,
        sum(remainder_cents - credited_net_cents - refunded_net_cents) over (partition by invoice_id
            order by line_number rows between unbounded preceding and current row) as cumulative_fee_basis_cents
    from refunded

)

select
    refund_id,
    invoice_id,
    obligation_id,
    line_number,
    decided_on,
    refund_window,
    remainder_cents,
    credited_net_cents,
    refunded_net_cents,
    case
        when fee_basis_cents = 0 then 0
        else {{ div_round_half_up('cast(invoice_fee_cents as ' ~ wide_int() ~ ') * cumulative_fee_basis_cents',
            'fee_basis_cents') }} - {{ div_round_half_up(
                'cast(invoice_fee_cents as ' ~ wide_int() ~ ') * (cumulative_fee_basis_cents - remainder_cents + credited_net_cents + refunded_net_cents)',
                'fee_basis_cents') }}
    end as fee_cents,
    case when refund_window = 'full_refund' then amount_cents - remainder_cents else 0 end as reversed_cents
from fee_shares
