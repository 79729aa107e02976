-- int_journal_lines__refund_decision: a refund decided at S (source refund, refund_decision:<refund_id>,
-- fct_refunds): Dr deferred revenue for the refund's net and the fee, per obligation (line 1 + its number, at the
-- releases' carrying amount, int_carrying_amounts__deferred_revenue); Dr tax payable for the refund's tax (line
-- 1000, its share of the invoice's tax as booked, after the credit note's); Cr refunds payable for the refund
-- with its tax (line 2000, a new monetary line at the rate of S); Cr cancellation-fee revenue for the fee (line
-- 3000 + its number, at the fee's carrying amount). What the remainder has left is recognised at S, and in the
-- full-refund window the revenue recognised before S is reversed, by recognition.

with fx as (

    select currency, rate_day, rate from {{ ref('int_fx_rates_daily') }}

),

refunds as (

    select
        refunds.*,
        tax_countries.tax_country,
        {{ rate_or_one('refunds.currency', 'fx') }} as rate
    from {{ ref('fct_refunds') }} as refunds
    inner join {{ ref('fct_invoices') }} as invoices on invoices.invoice_id = refunds.invoice_id
    left join {{ ref('int_invoice_tax_countries') }} as tax_countries on tax_countries.invoice_id = refunds.invoice_id
    left join fx on fx.currency = refunds.currency and fx.rate_day = refunds.decided_on
    where refunds.refund_net_cents + refunds.refund_tax_cents + refunds.fee_cents <> 0

),

tax_booked as (

    select invoice_id, -functional_cents as tax_functional_cents, -amount_cents as booked_tax_cents
    from {{ ref('int_journal_lines__invoice') }}
    where account_key = 'tax_payable'

),

released as (

    select * from {{ ref('int_carrying_amounts__deferred_revenue') }}

),

refund_decision_entries as (

    -- deferred revenue and tax payable relieved at their carrying amount; refunds payable is a new monetary
    -- line at the rate of S; the fee revenue takes the fee's carrying amount; what is left is FX
    select
        'refund_decision:' || refunds.refund_id as entry_id, refunds.decided_on as entry_date, 'refund' as source,
        refunds.refund_id as source_id, 1 + lines.line_number as line_number, 'deferred_revenue' as account_key,
        obligations.product_id, cast(null as {{ text_type() }}) as country, cast(null as {{ text_type() }}) as payment_method,
        refunds.invoice_id, lines.obligation_id, refunds.customer_id, refunds.currency,
        sum(released.recognised_cents + released.refunded_cents) as amount_cents,
        sum(released.released_functional_cents) as functional_cents,
        refunds.decided_on as known_date
    from refunds
    inner join {{ ref('int_refund_lines') }} as lines on lines.refund_id = refunds.refund_id
    inner join {{ ref('int_revenue_obligations') }} as obligations on obligations.obligation_id = lines.obligation_id
    inner join released
        on released.obligation_id = lines.obligation_id and released.line_kind in ('refund', 'cancellation_fee')
    group by refunds.refund_id, refunds.decided_on, lines.line_number, obligations.product_id, refunds.invoice_id,
        lines.obligation_id, refunds.customer_id, refunds.currency

    union all

    select
        'refund_decision:' || refunds.refund_id, refunds.decided_on, 'refund', refunds.refund_id, 1000,
        'tax_payable', null, refunds.tax_country, null, refunds.invoice_id, null, refunds.customer_id,
        refunds.currency,
        refunds.refund_tax_cents,
        -- cumulative after the credit note's relief of the same invoice's tax
        {{ carrying_share('tax_booked.tax_functional_cents', 'coalesce(notes.credited_tax_cents, 0) + refunds.refund_tax_cents',
            'tax_booked.booked_tax_cents') }}
            - {{ carrying_share('tax_booked.tax_functional_cents', 'coalesce(notes.credited_tax_cents, 0)',
                'tax_booked.booked_tax_cents') }},
        refunds.decided_on
    from refunds
    inner join tax_booked on tax_booked.invoice_id = refunds.invoice_id
    left join (
        select invoice_id, sum(credited_tax_cents) as credited_tax_cents
        from {{ ref('int_credit_note_lines') }}
        group by invoice_id
    ) as notes on notes.invoice_id = refunds.invoice_id
    where refunds.refund_tax_cents <> 0

    union all

    select
        'refund_decision:' || refund_id, decided_on, 'refund', refund_id, 2000, 'refunds_payable', null, null,
        null, invoice_id, null, customer_id, currency,
        -(refund_net_cents + refund_tax_cents),
        -{{ convert_cents('refund_net_cents + refund_tax_cents', 'rate') }},
        decided_on
    from refunds
    where refund_net_cents + refund_tax_cents <> 0

    union all

    select
        'refund_decision:' || refunds.refund_id, refunds.decided_on, 'refund', refunds.refund_id,
        3000 + lines.line_number, 'cancellation_fee_revenue', obligations.product_id, null, null,
        refunds.invoice_id, lines.obligation_id, refunds.customer_id, refunds.currency,
        -released.recognised_cents,
        -released.released_functional_cents,
        refunds.decided_on
    from refunds
    inner join {{ ref('int_refund_lines') }} as lines on lines.refund_id = refunds.refund_id
    inner join {{ ref('int_revenue_obligations') }} as obligations on obligations.obligation_id = lines.obligation_id
    inner join released
        on released.obligation_id = lines.obligation_id and released.line_kind = 'cancellation_fee'

)

select * from refund_decision_entries
