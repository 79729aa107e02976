-- int_journal_lines__goodwill: a goodwill credit granted by customer service (source service,
-- goodwill:<service_action_id>, stg_service_actions): Dr goodwill expense (line 1); Cr customer credits (line 2),
-- two new monetary lines at the rate of the action's day. The credit is then used like an overpayment's
-- (int_journal_lines__credit_use).

with fx as (

    select currency, rate_day, rate from {{ ref('int_fx_rates_daily') }}

),

goodwill as (

    select
        actions.service_action_id,
        actions.customer_id,
        actions.currency,
        actions.action_date,
        {{ to_cents('actions.amount') }} as amount_cents,
        {{ known_date('actions.recorded_date', 'actions.action_date') }} as known_date,
        {{ rate_or_one('actions.currency', 'fx') }} as rate
    from {{ ref('stg_service_actions') }} as actions
    left join fx on fx.currency = actions.currency and fx.rate_day = actions.action_date
    where actions.action_type = 'goodwill_credit'

),

goodwill_entries as (

    -- two new monetary lines at the rate of the action's day: the expense, then the credit it creates
    select
        'goodwill:' || service_action_id as entry_id, action_date as entry_date, 'service' as source,
        service_action_id as source_id, 1 as line_number, 'goodwill_expense' as account_key,
        cast(null as {{ text_type() }}) as product_id, cast(null as {{ text_type() }}) as country, cast(null as {{ text_type() }}) as payment_method,
        cast(null as {{ text_type() }}) as invoice_id, cast(null as {{ text_type() }}) as obligation_id, customer_id, currency,
        amount_cents,
        {{ convert_cents('amount_cents', 'rate') }} as functional_cents,
        known_date
    from goodwill

    union all

    select
        'goodwill:' || service_action_id, action_date, 'service', service_action_id, 2, 'customer_credits',
        null, null, null, null, null, customer_id, currency,
        -amount_cents,
        -{{ convert_cents('amount_cents', 'rate') }},
        known_date
    from goodwill

)

select * from goodwill_entries
