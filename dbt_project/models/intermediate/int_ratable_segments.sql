-- int_ratable_segments: the ratable obligations of issue terms whose end a vacation hold moved after the term
-- began (docs/computations.md, "Revenue: earned and deferred"), one row per end the term had, as it was known
-- from segment_from. What a segment's days earned stays earned: the next segment spreads the rest of the
-- amount over its own days, so a hold never changes the revenue of a day already served (nor of a closed
-- month). A term whose end never moved has no row here: one segment over [service_start, service_end), as
-- int_revenue_schedule_base and int_cancellation_decisions then compute it.

with recursive windows as (

    select
        subscription_id,
        term_number,
        window_from,
        end_date,
        lead(window_from) over (partition by subscription_id, term_number order by window_from) as window_to,
        row_number() over (partition by subscription_id, term_number order by window_from) - 1 as segment_number
    from {{ ref('int_billing_chains') }}
    where record_type = 'window'

),

segments as (

    select
        obligations.obligation_id,
        obligations.amount_cents,
        cast(windows.segment_number as integer) as segment_number,
        windows.window_from as segment_from,
        windows.window_to as segment_to,
        windows.end_date as segment_end
    from {{ ref('int_invoice_obligations') }} as obligations
    inner join windows
        on windows.subscription_id = obligations.subscription_id and windows.term_number = obligations.term_number
    where obligations.revenue_method = 'ratable_daily' and obligations.service_end > obligations.service_start

),

earned (obligation_id, segment_number, earned_before_cents) as (

    select obligation_id, segment_number, cast(0 as bigint)
    from segments
    where segment_number = 0
    union all
    -- the next segment starts with what this one earned through its last day
    select
        later.obligation_id,
        later.segment_number,
        cast({{ ratable_earned_cents(
            'segments.amount_cents', 'earned.earned_before_cents', 'segments.segment_from', 'segments.segment_end',
            'later.segment_from') }} as bigint)
    from earned
    inner join segments
        on segments.obligation_id = earned.obligation_id and segments.segment_number = earned.segment_number
    inner join segments as later
        on later.obligation_id = earned.obligation_id and later.segment_number = earned.segment_number + 1

)

select
    segments.obligation_id,
    segments.segment_number,
    segments.segment_from,
    segments.segment_to,
    segments.segment_end,
    segments.amount_cents,
    earned.earned_before_cents
from segments
inner join earned
    on earned.obligation_id = segments.obligation_id and earned.segment_number = segments.segment_number
