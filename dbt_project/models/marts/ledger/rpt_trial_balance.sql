-- rpt_trial_balance: per period, account and transaction currency: the period's debits and credits and the
-- closing balance (debit − credit, cumulative), in transaction and functional currency. Every period sums
-- to zero per currency, and in functional currency overall.

with movements as (

    -- one row per period, account and currency. A period's lines carry one code per account: a closed period
    -- keeps the code it was closed with, and a code changed after a close applies from the first open period
    select
        period,
        account_key,
        min(account_code) as account_code,
        min(account_name) as account_name,
        currency,
        sum(debit) as period_debit,
        sum(credit) as period_credit,
        sum(functional_debit) as period_functional_debit,
        sum(functional_credit) as period_functional_credit
    from {{ ref('fct_journal_lines') }}
    group by period, account_key, currency

),

periods as (

    select distinct period from movements

),

code_runs as (

    -- from each period with movements until the next one, the account's code and name are that period's
    select
        account_key,
        currency,
        account_code,
        account_name,
        period as from_period,
        lead(period) over (partition by account_key, currency order by period) as to_period
    from movements

),

grid as (

    -- every account and currency in every period from its first movement on, so closing balances carry, under
    -- the code of its latest period with movements
    select periods.period, runs.account_key, runs.account_code, runs.account_name, runs.currency
    from periods
    inner join code_runs as runs
        on periods.period >= runs.from_period
        and (runs.to_period is null or periods.period < runs.to_period)

),

final as (

    select
        grid.period,
        grid.account_code,
        grid.account_key,
        grid.account_name,
        grid.currency,
        coalesce(movements.period_debit, 0.00) as period_debit,
        coalesce(movements.period_credit, 0.00) as period_credit,
        sum(coalesce(movements.period_debit, 0.00) - coalesce(movements.period_credit, 0.00)) over (
            partition by grid.account_key, grid.currency order by grid.period
            rows between unbounded preceding and current row) as closing_balance,
        coalesce(movements.period_functional_debit, 0.00) as period_functional_debit,
        coalesce(movements.period_functional_credit, 0.00) as period_functional_credit,
        sum(coalesce(movements.period_functional_debit, 0.00) - coalesce(movements.period_functional_credit, 0.00)) over (
            partition by grid.account_key, grid.currency order by grid.period
            rows between unbounded preceding and current row) as closing_functional_balance
    from grid
    left join movements
        on movements.period = grid.period
        and movements.account_key = grid.account_key
        and movements.currency = grid.currency

)

select * from final
