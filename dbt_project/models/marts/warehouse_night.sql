-- The night this warehouse holds (one row). It reads nothing, so dbt always builds it: the night's gates
-- (lifecycle/assets/warehouse.py night_gates) hang on it and run even when another model failed.
select
    cast('{{ var("business_date") }}' as date) as business_date,
    '{{ var("business_timezone") }}' as business_timezone,
    '{{ var("functional_currency") }}' as functional_currency,
    cast(nullif('{{ var("cutover_date") }}', '') as date) as cutover_date
