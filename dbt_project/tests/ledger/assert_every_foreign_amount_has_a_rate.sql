-- A journal line in a foreign currency needs the rate of its date: the latest on or before it, at most 7 days
-- old (DOMAIN "FX"). Returns each currency and date without one: a blocking error naming both.
{{ config(tags=["finance"], meta={"dagster": {"ref": {"name": "int_journal_lines"}}}) }}

select currency, entry_date as missing_rate_for, count(*) as lines
from {{ ref('int_journal_lines') }}
where functional_cents is null
group by currency, entry_date
