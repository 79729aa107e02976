-- No renewal notice for a term already renewed, cancelled or awaiting an autocharge answer when the notice
-- fell due, and notice k never before notice k − 1 of the same term.
{{ config(tags=["renewals"], meta={"dagster": {"ref": {"name": "fct_renewal_notices"}}}) }}

with notices as (

    select * from {{ ref('fct_renewal_notices') }}

),

renewed as (

    select
        notices.notice_id,
        'renewed before the notice was due' as problem
    from notices
    inner join {{ ref('int_subscription_terms') }} as next_term
        on next_term.subscription_id = notices.subscription_id
        and next_term.term_number = notices.term_number + 1
    where {{ known_date('next_term.recorded_date', 'next_term.ordered_date') }} <= notices.due_date

),

cancelled as (

    select notices.notice_id, 'cancelled before the notice was due' as problem
    from notices
    inner join {{ ref('stg_cancellations') }} as cancellations
        on cancellations.subscription_id = notices.subscription_id
    inner join {{ ref('int_subscription_terms') }} as terms
        on terms.subscription_id = notices.subscription_id and terms.term_number = notices.term_number
    where cancellations.requested_date >= terms.ordered_date
        and {{ known_date('cancellations.recorded_date', 'cancellations.requested_date') }} <= notices.due_date

),

awaiting_charge as (

    select notices.notice_id, 'an autocharge attempt was unanswered' as problem
    from notices
    inner join {{ ref('int_autocharge_requests') }} as requests
        on requests.subscription_id = notices.subscription_id and requests.term_number = notices.term_number
    where requests.request_date <= notices.due_date
        and (requests.answer_status is null or requests.answer_recorded_date > notices.due_date)

),

out_of_order as (

    select notice_id, 'notice k due before notice k - 1' as problem
    from (
        select
            notice_id,
            due_date,
            lag(due_date) over (partition by subscription_id, term_number order by notice_number) as previous_due
        from notices
    ) as ordered
    where due_date < previous_due

)

select * from renewed
union all
select * from cancelled
union all
select * from awaiting_charge
union all
select * from out_of_order
