-- int_month_spine: one row per calendar month from 2000-01 to 2099-12 (first day, and first day of the
-- next month, exclusive). Revenue is scheduled by month overlap against it, never by exploding days.

with numbers as (

    {{ dbt.generate_series(1200) }}

),

final as (

    select
        cast({{ dbt.dateadd('month', 'generated_number - 1', "cast('2000-01-01' as date)") }} as date) as month_start,
        cast({{ dbt.dateadd('month', 'generated_number', "cast('2000-01-01' as date)") }} as date) as next_month_start
    from numbers

)

select * from final
