-- The reports tie to the ledger:
--   the roll-forward's closing deferred balance = the ledger's deferred revenue, per period, product, currency
--   the waterfall sums to the ledger's deferred revenue per product and currency
--   AR aging sums to the AR account per currency
{{ config(tags=["finance"], meta={"dagster": {"ref": {"name": "fct_journal_lines"}}}) }}

with ledger_deferred as (

    select period, product_id, currency, sum(credit) - sum(debit) as movement
    from {{ ref('fct_journal_lines') }}
    where account_key = 'deferred_revenue'
    group by period, product_id, currency

),

rollforward as (

    select
        rollforward.period,
        rollforward.product_id,
        rollforward.currency,
        rollforward.closing_balance,
        (
            select coalesce(sum(l.movement), 0) from ledger_deferred as l
            where l.product_id = rollforward.product_id and l.currency = rollforward.currency
                and l.period <= rollforward.period
        ) as ledger_balance
    from {{ ref('rpt_deferred_revenue_rollforward') }} as rollforward

),

waterfall as (

    select product_id, currency, sum(deferred_amount) as total
    from {{ ref('rpt_deferred_revenue_waterfall') }}
    group by product_id, currency

),

ledger_total as (

    select product_id, currency, sum(movement) as total from ledger_deferred group by product_id, currency

),

ar as (

    select currency, sum(debit) - sum(credit) as total
    from {{ ref('fct_journal_lines') }}
    where account_key = 'accounts_receivable'
    group by currency

),

aging as (

    select currency, sum(balance_due) as total from {{ ref('rpt_ar_aging') }} group by currency

)

select 'rollforward' as report, period, product_id, currency, closing_balance as report_value,
    ledger_balance as ledger_value
from rollforward
where closing_balance <> ledger_balance

union all

select 'waterfall', null, coalesce(w.product_id, l.product_id), coalesce(w.currency, l.currency),
    coalesce(w.total, 0), coalesce(l.total, 0)
from waterfall as w
full outer join ledger_total as l on l.product_id = w.product_id and l.currency = w.currency
where coalesce(w.total, 0) <> coalesce(l.total, 0)

union all

select 'ar_aging', null, null, coalesce(a.currency, ar.currency), coalesce(a.total, 0), coalesce(ar.total, 0)
from aging as a
full outer join ar on ar.currency = a.currency
where coalesce(a.total, 0) <> coalesce(ar.total, 0)
