-- int_subscription_events: the events of a subscription for the customer timeline (int_customer_timeline): its
-- vacation holds (stg_suspensions, dated the night the hold was known) and cancellations (stg_cancellations,
-- requested date), each with the customer of the subscription's first term. Their feeds name a subscription, not a
-- customer; here they get one, so the timeline reads every event by its customer (and is carried per customer).

with subscription_customers as (

    select subscription_id, customer_id
    from {{ ref('int_subscription_terms') }}
    where term_number = 1

),

subscription_events as (

    -- vacation holds and cancellations name a subscription, not a customer
    select
        'vacation_hold' as event_type,
        12 as type_rank,
        {{ known_date('recorded_date', 'hold_from') }} as event_date,
        subscription_id,
        'stg_suspensions' as source_table,
        suspension_id as source_id,
        'Vacation hold on ' || subscription_id || ' from ' || cast(hold_from as {{ text_type() }})
            || ' to ' || cast(hold_to as {{ text_type() }}) as description
    from {{ ref('stg_suspensions') }}

    union all

    select
        'cancellation',
        13,
        requested_date,
        subscription_id,
        'stg_cancellations',
        cancellation_id,
        'Cancellation of ' || subscription_id || ' (' || reason || '), effective ' || cast(effective_date as {{ text_type() }})
    from {{ ref('stg_cancellations') }}

),

holds_and_cancellations as (

    select
        subscription_events.event_type,
        subscription_events.type_rank,
        subscription_customers.customer_id,
        subscription_events.event_date,
        subscription_events.subscription_id,
        subscription_events.source_table,
        subscription_events.source_id,
        cast(null as decimal(18, 2)) as amount,
        cast(null as {{ text_type() }}) as currency,
        subscription_events.description
    from subscription_events
    inner join subscription_customers on subscription_customers.subscription_id = subscription_events.subscription_id

)

select * from holds_and_cancellations
