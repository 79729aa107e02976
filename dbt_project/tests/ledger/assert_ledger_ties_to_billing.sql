-- The ledger ties out to the billing marts, per currency, as of the business date:
--   AR = the open invoices' balance due
--   customer credits = the credit customers hold (fct_customer_credits)
--   cash clearing = settled − refunded − charged back
--   deferred revenue = billed net − recognised − credited − refunded
--   refund decisions: refunds payable credited = the refunds decided (fct_refunds), before the opening-balance
--   collapse (int_journal_lines)
{{ config(tags=["finance"], meta={"dagster": {"ref": {"name": "fct_journal_lines"}}}) }}

with ledger as (

    select account_key, currency, sum(debit) - sum(credit) as balance
    from {{ ref('fct_journal_lines') }}
    group by account_key, currency
    union all
    -- the journal's lines before the opening-balance collapse (decisions before the cut-over month are in it)
    select 'refunds_payable_decided', currency, {{ cents_to_money('sum(amount_cents)') }}
    from {{ ref('int_journal_lines') }}
    where account_key = 'refunds_payable' and entry_id like 'refund_decision:%'
    group by currency

),

expected as (

    select 'accounts_receivable' as account_key, currency, sum(balance_due) as balance
    from {{ ref('fct_invoices') }} group by currency
    union all
    select 'customer_credits', currency, -sum(amount)
    from {{ ref('fct_customer_credits') }} group by currency
    union all
    select 'cash_clearing', currency,
        sum(case when status = 'settled' then amount else -amount end)
    from {{ ref('stg_payments') }} where status in ('settled', 'refunded', 'chargeback') group by currency
    union all
    select 'deferred_revenue', obligations.currency, -(sum(obligations.amount) - coalesce(sum(recognised.amount), 0))
    from {{ ref('int_revenue_obligations') }} as obligations
    left join (
        select obligation_id, sum(recognised_amount + credited_amount + refunded_amount) as amount
        from {{ ref('fct_revenue_schedule') }} group by 1
    ) as recognised on recognised.obligation_id = obligations.obligation_id
    group by obligations.currency
    union all
    select 'refunds_payable_decided', currency, -sum(refund_amount)
    from {{ ref('fct_refunds') }} where refund_amount <> 0 group by currency

)

select expected.account_key, expected.currency, expected.balance as expected, coalesce(ledger.balance, 0) as ledger
from expected
left join ledger on ledger.account_key = expected.account_key and ledger.currency = expected.currency
where coalesce(ledger.balance, 0) <> expected.balance
