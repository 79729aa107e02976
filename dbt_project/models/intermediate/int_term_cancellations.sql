-- int_term_cancellations: the cancellation that ends each term, if any. S = the later of its effective and
-- recorded dates (a migrated cancellation was known when requested). A cancellation ends the terms ordered
-- before it was requested and not over by its service end (a prepaid future term is cancelled whole); one
-- requested before a term's end and effective at or after it only says: do not renew.

with terms as (

    select subscription_id, term_number, ordered_date, end_date
    from {{ ref('int_subscription_terms') }}

),

next_terms as (

    select * from terms

),

cancellations as (

    select
        cancellation_id,
        subscription_id,
        requested_date,
        reason,
        -- S = the later of the effective and recorded dates; a migrated cancellation (recorded on the
        -- cut-over date) was known to the legacy system when it was requested
        greatest(effective_date, {{ known_date('recorded_date', 'requested_date') }}) as service_end,
        {{ known_date('recorded_date', 'requested_date') }} as known_on
    from {{ ref('stg_cancellations') }}

),

term_cancellations as (

    -- a cancellation ends the terms ordered before it was requested and not over by its service end
    -- (a prepaid future term is cancelled whole); one requested before a term's end and effective
    -- at or after it only says: do not renew
    select
        next_terms.subscription_id,
        next_terms.term_number,
        min(case when cancellations.service_end < coalesce(next_terms.end_date, date '9999-12-31')
            then cancellations.service_end end) as service_end,
        max(case when cancellations.service_end >= next_terms.end_date
            and cancellations.requested_date < next_terms.end_date then 1 else 0 end) = 1 as do_not_renew,
        -- the cancellation that ends the term (the earliest service end, then the smallest id: a total order);
        -- else the do-not-renew one
        coalesce(
            {{ arg_min("cancellations.cancellation_id", "case when cancellations.service_end
                < coalesce(next_terms.end_date, date '9999-12-31')
                then cancellations.service_end || ':' || cancellations.cancellation_id end") }},
            min(cancellations.cancellation_id)) as cancellation_id,
        coalesce(
            {{ arg_min("cancellations.reason", "case when cancellations.service_end
                < coalesce(next_terms.end_date, date '9999-12-31')
                then cancellations.service_end || ':' || cancellations.cancellation_id end") }},
            {{ arg_min("cancellations.reason", "cancellations.cancellation_id") }}) as cancellation_reason,
        {{ arg_min("cancellations.requested_date", "case when cancellations.service_end
            < coalesce(next_terms.end_date, date '9999-12-31')
            then cancellations.service_end || ':' || cancellations.cancellation_id end") }}
            as requested_date,
        -- the first night the pipeline knew the term would not go on (ended or not renewed)
        min(cancellations.known_on) as known_on
    from next_terms
    inner join cancellations
        on cancellations.subscription_id = next_terms.subscription_id
        and cancellations.requested_date >= next_terms.ordered_date
    group by next_terms.subscription_id, next_terms.term_number

)

select * from term_cancellations
