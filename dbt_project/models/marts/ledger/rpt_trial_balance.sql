-- rpt_trial_balance: per period, account and transaction currency: the period's debits and credits and the
-- closing balance (debit − credit, cumulative), in transaction and functional currency. Every period sums
-- to zero per currency, and in functional currency overall.

with movements as (

    select
        period,
        account_key,
        account_code,
        account_name,
        currency,
        sum(debit) as period_debit,
        sum(credit) as period_credit,
        sum(functional_debit) as period_functional_debit,
        sum(functional_credit) as period_functional_credit
    from {{ ref('fct_journal_lines') }}
    group by period, account_key, account_code, account_name, currency

),

periods as (

    select distinct period from movements

),

accounts as (

    select distinct account_key, account_code, account_name, currency from movements

),

grid as (

    -- every account and currency in every period from its first movement on, so closing balances carry
    select periods.period, accounts.account_key, accounts.account_code, accounts.account_name, accounts.currency
    from periods
    cross join accounts
    where periods.period >= (
        select min(m.period) from movements as m
        where m.account_key = accounts.account_key and m.currency = accounts.currency
    )

),

final as (

    select
        grid.period,
        grid.account_code,
        grid.account_key,
        grid.account_name,
        grid.currency,
        coalesce(movements.period_debit, 0) as period_debit,
        coalesce(movements.period_credit, 0) as period_credit,
        sum(coalesce(movements.period_debit, 0) - coalesce(movements.period_credit, 0)) over (
            partition by grid.account_key, grid.currency order by grid.period
            rows between unbounded preceding and current row) as closing_balance,
        coalesce(movements.period_functional_debit, 0) as period_functional_debit,
        coalesce(movements.period_functional_credit, 0) as period_functional_credit,
        sum(coalesce(movements.period_functional_debit, 0) - coalesce(movements.period_functional_credit, 0)) over (
            partition by grid.account_key, grid.currency order by grid.period
            rows between unbounded preceding and current row) as closing_functional_balance
    from grid
    left join movements
        on movements.period = grid.period
        and movements.account_key = grid.account_key
        and movements.currency = grid.currency

)

select * from final
