-- The night this warehouse holds (one row), with the settings it was built with: what a reader of the
-- published file checks first. Every model takes the business date from here (macro business_date()).
select
    business_date,
    '{{ var("business_timezone") }}' as business_timezone,
    '{{ var("functional_currency") }}' as functional_currency,
    cast(nullif('{{ var("cutover_date") }}', '') as date) as cutover_date
from {{ source('pipeline', 'night') }}
