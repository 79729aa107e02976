-- Timeline events per customer = the sum of the source tables' rows for that customer: for every customer
-- and event type, the timeline's count equals the count taken from the source itself with the same filters
-- (dated on or before the night; sent efforts, requests and notices; refunds above zero; write-offs).
-- The customer of a cancellation or vacation hold is found here through the order that started the
-- subscription (stg_orders), not through the chains the model uses. Returns one row per mismatch.
{{ config(tags=["engagement"], meta={"dagster": {"ref": {"name": "fct_customer_timeline"}}}) }}

with subscription_customers as (

    select subscription_id, min(customer_id) as customer_id
    from {{ ref('stg_orders') }}
    where order_type in ('new', 'gift')
    group by subscription_id

),

{#- (event type, source, filter): the sources whose rows carry their customer -#}
{%- set sources = [
    ('interaction', 'stg_interactions', 'occurred_date <= ' ~ business_date()),
    ('order', 'int_orders', 'ordered_date <= ' ~ business_date()),
    ('invoice', 'fct_invoices', 'invoice_date <= ' ~ business_date()),
    ('billing_effort', 'fct_billing_efforts', 'is_sent and due_date <= ' ~ business_date()),
    ('autocharge_request', 'fct_autocharge_requests', 'is_sent and request_date <= ' ~ business_date()),
    ('renewal_notice', 'fct_renewal_notices', "status = 'sent' and due_date <= " ~ business_date()),
    ('shipment', 'fct_manifest_lines', 'list_close_date <= ' ~ business_date()),
    ('credit_note', 'fct_credit_notes', 'credit_note_date <= ' ~ business_date()),
    ('refund', 'fct_refunds', 'refund_amount > 0 and decided_on <= ' ~ business_date()),
    ('write_off', 'fct_invoices', 'written_off_on <= ' ~ business_date()),
    ('service_action', 'stg_service_actions', 'action_date <= ' ~ business_date()),
] %}

expected as (

    {% for event_type, model, filter in sources -%}
    select customer_id, '{{ event_type }}' as event_type, count(*) as events
    from {{ ref(model) }}
    where {{ filter }}
    group by customer_id

    union all

    {% endfor -%}
    select customer_id, 'payment_' || status, count(*)
    from {{ ref('stg_payments') }}
    where paid_date <= {{ business_date() }}
    group by customer_id, status

    union all

    select subscription_customers.customer_id, 'vacation_hold', count(*)
    from {{ ref('stg_suspensions') }} as suspensions
    inner join subscription_customers on subscription_customers.subscription_id = suspensions.subscription_id
    group by subscription_customers.customer_id

    union all

    select subscription_customers.customer_id, 'cancellation', count(*)
    from {{ ref('stg_cancellations') }} as cancellations
    inner join subscription_customers on subscription_customers.subscription_id = cancellations.subscription_id
    where cancellations.requested_date <= {{ business_date() }}
    group by subscription_customers.customer_id

),

actual as (

    select customer_id, event_type, count(*) as events
    from {{ ref('fct_customer_timeline') }}
    group by customer_id, event_type

)

select
    coalesce(expected.customer_id, actual.customer_id) as customer_id,
    coalesce(expected.event_type, actual.event_type) as event_type,
    coalesce(expected.events, 0) as expected_events,
    coalesce(actual.events, 0) as timeline_events
from expected
full outer join actual
    on actual.customer_id = expected.customer_id and actual.event_type = expected.event_type
where coalesce(expected.events, 0) <> coalesce(actual.events, 0)
