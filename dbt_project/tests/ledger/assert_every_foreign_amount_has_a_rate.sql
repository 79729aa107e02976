-- A journal line in a foreign currency needs the rate of its date: the latest on or before it, at most 7 days
-- old (docs/conventions.md, "Foreign exchange"); so does a month-end revaluation (the rate of the period's last
-- day). Returns each currency and date without one: a blocking error naming both.
{{ config(tags=["finance"], meta={"dagster": {"ref": {"name": "int_journal_lines"}}}) }}

select currency, entry_date as missing_rate_for, count(*) as lines
from {{ ref('int_journal_lines') }}
where functional_cents is null
group by currency, entry_date

union all

select currency, entry_date, count(*)
from {{ ref('int_fx_revaluation_lines') }}
where functional_cents is null
    and entry_id like 'fx_revaluation:%'
group by currency, entry_date
