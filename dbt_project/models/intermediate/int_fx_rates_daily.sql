-- int_fx_rates_daily: for every foreign currency and every day from its first rate to the business
-- date, the rate in force: the latest rate on or before the day, at most 7 days old
-- (docs/conventions.md, "Foreign exchange"). A day with no such rate has none: the journal test
-- names the currency and date that lack one. Rates are functional units per one transaction unit;
-- the functional currency itself is 1.

with rates as (

    select currency, rate_date, rate
    from {{ ref('stg_fx_rates') }}
    where is_current and currency <> '{{ var("functional_currency") }}'

),

bounds as (

    select currency, min(rate_date) as first_day
    from rates
    group by currency

),

days as (

    select
        bounds.currency,
        cast({{ dbt.dateadd('day', 'numbers.generated_number - 1', 'bounds.first_day') }} as date) as rate_day
    from bounds
    cross join ({{ dbt.generate_series(20000) }}) as numbers
    where {{ dbt.dateadd('day', 'numbers.generated_number - 1', 'bounds.first_day') }} <= {{ business_date() }}

),

latest as (

    select days.currency, days.rate_day, max(rates.rate_date) as rate_date
    from days
    inner join rates
        on rates.currency = days.currency
        and rates.rate_date <= days.rate_day
        and rates.rate_date > cast({{ dbt.dateadd('day', -8, 'days.rate_day') }} as date)
    group by days.currency, days.rate_day

),

final as (

    select latest.currency, latest.rate_day, latest.rate_date, rates.rate
    from latest
    inner join rates on rates.currency = latest.currency and rates.rate_date = latest.rate_date

)

select * from final
