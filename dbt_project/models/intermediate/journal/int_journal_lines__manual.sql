-- int_journal_lines__manual: finance's manual journals (source manual, manual:<entry_id>, stg_manual_journals),
-- the lines as sent (debit +, credit −), account codes mapped back to the chart with the deployment's overrides;
-- functional amounts at the entry date's rate, rounded cumulatively in line order per currency, so a balanced
-- entry balances in both currencies.

with fx as (

    select currency, rate_day, rate from {{ ref('int_fx_rates_daily') }}

),

accounts_by_code as (

    -- the chart of accounts under the deployment's codes (as ingestion checked them)
    select
        account_key,
        {{ deployment_account_code() }} as account_code
    from {{ ref('chart_of_accounts') }}

),

manual_lines as (

    select
        journals.entry_id,
        journals.entry_date,
        journals.line_number,
        accounts_by_code.account_key,
        journals.currency,
        {{ to_cents('coalesce(journals.debit, 0) - coalesce(journals.credit, 0)') }} as amount_cents,
        sum({{ to_cents('coalesce(journals.debit, 0) - coalesce(journals.credit, 0)') }}) over (
            partition by journals.entry_id, journals.currency order by journals.line_number
            rows between unbounded preceding and current row) as cumulative_cents,
        {{ known_date('journals.recorded_date', 'journals.entry_date') }} as known_date,
        {{ rate_or_one('journals.currency', 'fx') }} as rate
    from {{ ref('stg_manual_journals') }} as journals
    inner join accounts_by_code on accounts_by_code.account_code = journals.account_code
    left join fx on fx.currency = journals.currency and fx.rate_day = journals.entry_date

),

manual_entries as (

    select
        'manual:' || entry_id as entry_id, entry_date, 'manual' as source, entry_id as source_id, line_number,
        account_key, cast(null as {{ text_type() }}) as product_id, cast(null as {{ text_type() }}) as country,
        cast(null as {{ text_type() }}) as payment_method, cast(null as {{ text_type() }}) as invoice_id,
        cast(null as {{ text_type() }}) as obligation_id, cast(null as {{ text_type() }}) as customer_id, currency,
        amount_cents,
        {{ convert_cents('cumulative_cents', 'rate') }} - {{ convert_cents('cumulative_cents - amount_cents', 'rate') }}
            as functional_cents,
        known_date
    from manual_lines

)

select * from manual_entries
