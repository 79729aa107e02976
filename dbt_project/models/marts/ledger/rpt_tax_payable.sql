-- rpt_tax_payable: sales tax payable per period, country (int_invoice_tax_countries: the ship-to country, else the
-- customer's) and currency, from
-- the journal's tax-payable lines: tax invoiced (credits), tax reversed with credit notes and refunds (debits),
-- and the closing balance owed to each country's tax authority, in transaction and functional currency. With a
-- cut-over, the opening period shows the migrated balance as opening_balance (the opening-balance entry).

with movements as (

    select
        period,
        country,
        currency,
        sum(case when source = 'invoice' then credit - debit else 0 end) as tax_invoiced,
        sum(case when source not in ('invoice', 'opening_balance') then debit - credit else 0 end) as tax_reversed,
        sum(case when source = 'opening_balance' then credit - debit else 0 end) as opening_balance,
        sum(credit) - sum(debit) as net_tax,
        sum(functional_credit) - sum(functional_debit) as functional_net_tax
    from {{ ref('fct_journal_lines') }}
    where account_key = 'tax_payable'
    group by period, country, currency

),

periods as (

    select distinct period from movements

),

keys as (

    select country, currency, min(period) as first_period from movements group by country, currency

),

grid as (

    -- every country and currency in every period from its first movement, so balances carry
    select periods.period, keys.country, keys.currency
    from periods
    inner join keys on periods.period >= keys.first_period

)

select
    grid.period,
    grid.country,
    grid.currency,
    coalesce(movements.tax_invoiced, 0) as tax_invoiced,
    coalesce(movements.tax_reversed, 0) as tax_reversed,
    coalesce(movements.opening_balance, 0) as opening_balance,
    sum(coalesce(movements.net_tax, 0)) over (
        partition by grid.country, grid.currency order by grid.period
        rows between unbounded preceding and current row) as closing_tax_payable,
    sum(coalesce(movements.functional_net_tax, 0)) over (
        partition by grid.country, grid.currency order by grid.period
        rows between unbounded preceding and current row) as functional_closing_tax_payable
from grid
left join movements
    on movements.period = grid.period
    and movements.country is not distinct from grid.country
    and movements.currency = grid.currency
