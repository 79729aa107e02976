-- int_carrying_amounts__deferred_revenue: every release of an obligation's deferred revenue (fct_revenue_schedule:
-- recognised, fees and reversals included, credited, refunded) in functional currency (docs/conventions.md,
-- "Foreign exchange"). Deferred revenue is booked per invoice line at the invoice's rate
-- (int_journal_lines__invoice); each schedule line releases its share of that carrying amount, cumulatively in
-- date order, so an obligation released in full is released at exactly what it was booked at. One row per
-- schedule line. Read by the recognition, credit note and refund decision entries.
-- Carried by obligation (macros/materializations/carried.sql): an obligation's rows are computed again only on a
-- night its invoice line or its schedule changed; every join and window here stays within an obligation.

{{ config(materialized=('carried' if target.type == 'duckdb' else 'table'), carry_key='obligation_id') }}

with deferred_booked as (

    select obligation_id, -functional_cents as deferred_functional_cents, -amount_cents as deferred_cents,
        known_date as invoice_known_date
    from {{ ref('int_journal_lines__invoice') }}
    where account_key = 'deferred_revenue'

),

recognised as (

    select
        schedule.schedule_line_id,
        schedule.obligation_id,
        schedule.product_id,
        schedule.currency,
        schedule.recognition_date,
        -- known once the invoice is known and the day has come
        greatest(schedule.recognition_date, booked.invoice_known_date) as known_date,
        schedule.line_kind,
        {{ to_cents('schedule.recognised_amount') }} as recognised_cents,
        {{ to_cents('schedule.credited_amount') }} as credited_cents,
        {{ to_cents('schedule.refunded_amount') }} as refunded_cents,
        -- every release of the deferred balance: recognised (fees and reversals included), credited, refunded
        {{ carrying_share('booked.deferred_functional_cents',
            'sum(' ~ to_cents('schedule.recognised_amount + schedule.credited_amount + schedule.refunded_amount')
            ~ ') over (partition by schedule.obligation_id '
            ~ 'order by schedule.recognition_date, schedule.schedule_line_id '
            ~ 'rows between unbounded preceding and current row)',
            'booked.deferred_cents') }} as cumulative_functional_cents
    from {{ ref('fct_revenue_schedule') }} as schedule
    inner join deferred_booked as booked on booked.obligation_id = schedule.obligation_id

),

recognised_functional as (

    select
        recognised.*,
        cast({{ dbt.date_trunc('month', 'recognition_date') }} as date) as service_period_start,
        cumulative_functional_cents - coalesce(lag(cumulative_functional_cents) over (
            partition by obligation_id order by recognition_date, schedule_line_id), 0) as released_functional_cents
    from recognised

)

select * from recognised_functional
