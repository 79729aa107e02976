-- fct_customer_timeline: every event of a customer dated on or before the night, in order, with one line a
-- customer-service agent can read (docs/computations.md, "Customer timeline"): int_customer_timeline's events
-- (every source, whatever the date, carried per customer) as of the business date. event_sequence is theirs: an
-- event after the night sorts after every event on or before it, so the numbers shown run 1, 2, … with no gap.
-- The singular test tests/engagement/assert_timeline_counts_match_the_sources.sql recounts every source
-- independently.
-- A view on DuckDB, over two tables of the same file: writing the night's 16M rows again (at a million customers)
-- cost what carrying int_customer_timeline saved. Other adapters build it as a table.

{{ config(materialized=('view' if target.type == 'duckdb' else 'table')) }}

select *
from {{ ref('int_customer_timeline') }}
where event_date <= {{ business_date() }}
