-- int_fx_revaluation_lines: the period-end revaluation of open foreign-currency AR and customer credits
-- (docs/conventions.md, "Foreign exchange": unrealised gain/loss, reversed on the first day of the next
-- period), in the shape of int_journal_lines. For every period that ended before the business date, per
-- account and foreign currency:
--   balance     the account's balance posted in periods up to and including this one (int_journal_lines by
--               posting period, as fct_journal_lines posts them), in transaction and functional currency
--   revalued    the transaction balance at the period's last day's rate (int_fx_rates_daily), half away from 0
--   adjustment  revalued − the functional balance (its carrying amount)
-- Entry fx_revaluation:<period>:<currency> (source fx), dated the period's last day: the adjustment on AR
-- (line 1) and customer credits (line 2), functional only (transaction amount 0.00), and the opposite on
-- unrealised FX gain/loss (line 3). Entry fx_revaluation_reversal:<period>:<currency>, dated the next period's
-- first day, reverses it line for line. Because every revaluation is reversed, carrying amounts (what
-- payments and credit use relieve) stay the amounts booked. A period is revalued on the nights after its last
-- day, when its month-end rate and the reversal's date have both come.

with journal as (

    select
        entry_id,
        account_key,
        currency,
        amount_cents,
        functional_cents,
        {{ posting_period_start(
            'cast(' ~ dbt.date_trunc('month', 'journal_lines.entry_date') ~ ' as date)',
            'journal_lines.entry_known_date') }} as period_start
    from (
        -- the night the entry was known: its latest line's (an aggregate of the two columns it needs, joined back:
        -- a window partitioned by entry sorts every line with all its columns)
        select lines.*, entry_known.entry_known_date
        from {{ ref('int_journal_lines') }} as lines
        left join (
            select entry_id, max(known_date) as entry_known_date
            from {{ ref('int_journal_lines') }}
            where currency <> '{{ var("functional_currency") }}'
            group by entry_id
        ) as entry_known on entry_known.entry_id = lines.entry_id
        where lines.currency <> '{{ var("functional_currency") }}'
    ) as journal_lines

),

movements as (

    select
        period_start,
        account_key,
        currency,
        sum(amount_cents) as amount_cents,
        sum(functional_cents) as functional_cents
    from journal
    where account_key in ('accounts_receivable', 'customer_credits')
    group by period_start, account_key, currency

),

keys as (

    select account_key, currency, min(period_start) as first_period_start
    from movements
    group by account_key, currency

),

grid as (

    -- every ended period from the key's first movement on, so a balance that did not move is revalued too
    select
        keys.account_key,
        keys.currency,
        spine.month_start as period_start,
        cast({{ dbt.dateadd('day', -1, 'spine.next_month_start') }} as date) as period_end,
        spine.next_month_start
    from keys
    inner join {{ ref('int_month_spine') }} as spine
        on spine.month_start >= keys.first_period_start
        and spine.next_month_start <= {{ business_date() }}

),

balances as (

    select
        grid.*,
        sum(coalesce(movements.amount_cents, 0)) over (
            partition by grid.account_key, grid.currency order by grid.period_start
            rows between unbounded preceding and current row) as balance_cents,
        sum(coalesce(movements.functional_cents, 0)) over (
            partition by grid.account_key, grid.currency order by grid.period_start
            rows between unbounded preceding and current row) as balance_functional_cents
    from grid
    left join movements
        on movements.account_key = grid.account_key
        and movements.currency = grid.currency
        and movements.period_start = grid.period_start

),

adjustments as (

    select
        balances.account_key,
        balances.currency,
        balances.period_start,
        balances.period_end,
        balances.next_month_start,
        {{ period_of('balances.period_start') }} as period,
        -- null when the month-end rate is missing: assert_every_foreign_amount_has_a_rate names it
        {{ convert_cents('balances.balance_cents', 'fx.rate') }} - balances.balance_functional_cents
            as adjustment_cents
    from balances
    left join {{ ref('int_fx_rates_daily') }} as fx
        on fx.currency = balances.currency and fx.rate_day = balances.period_end

),

revaluation_lines as (

    select
        'fx_revaluation:' || period || ':' || currency as entry_id,
        period_end as entry_date,
        period || ':' || currency as source_id,
        case account_key when 'accounts_receivable' then 1 else 2 end as line_number,
        account_key,
        currency,
        adjustment_cents as functional_cents,
        period_end as known_date,
        next_month_start
    from adjustments
    where adjustment_cents <> 0 or adjustment_cents is null

    union all

    select
        'fx_revaluation:' || period || ':' || currency,
        min(period_end),
        period || ':' || currency,
        3,
        'unrealised_fx_gain_loss',
        currency,
        -sum(adjustment_cents),
        min(period_end),
        min(next_month_start)
    from adjustments
    where adjustment_cents <> 0 or adjustment_cents is null
    group by period, currency
    having sum(adjustment_cents) <> 0 or count(adjustment_cents) < count(*)

),

final as (

    select
        entry_id, entry_date, 'fx' as source, source_id, line_number, account_key,
        cast(null as {{ text_type() }}) as product_id, cast(null as {{ text_type() }}) as country,
        cast(null as {{ text_type() }}) as payment_method, cast(null as {{ text_type() }}) as invoice_id,
        cast(null as {{ text_type() }}) as obligation_id, cast(null as {{ text_type() }}) as customer_id, currency,
        cast(0 as bigint) as amount_cents,
        functional_cents,
        known_date
    from revaluation_lines

    union all

    select
        replace(entry_id, 'fx_revaluation:', 'fx_revaluation_reversal:'), next_month_start, 'fx', source_id,
        line_number, account_key, null, null, null, null, null, null, currency,
        cast(0 as bigint),
        -functional_cents,
        next_month_start
    from revaluation_lines

)

select * from final
