-- No autocharge request (nor upcoming-charge notice) for a term that, when it was due, was already
-- cancelled or renewed by an order (docs/invariants.md, "Billing and communications"). Returns the
-- offending requests.
-- Each reason is its own join and the request is flagged when either found it: `exists (…) or exists (…)` is
-- decorrelated by DuckDB but runs its subqueries once per request on PostgreSQL (hours at 100,000 customers).
{{ config(tags=["billing"], meta={"dagster": {"ref": {"name": "int_billing_chains"}}}) }}

with requests as (

    select request_key, subscription_id, term_number, request_date as due_date
    from {{ ref('int_billing_chains') }}
    where record_type = 'request'
    union all
    select request_key, subscription_id, term_number, notice_date as due_date
    from {{ ref('int_billing_chains') }}
    where record_type = 'notice'

),

terms as (

    select * from {{ ref('int_subscription_terms') }}

),

cancelled_before_due as (

    select distinct requests.subscription_id, requests.term_number, requests.due_date
    from requests
    inner join terms as this
        on this.subscription_id = requests.subscription_id and this.term_number = requests.term_number
    inner join {{ ref('stg_cancellations') }} as c
        on c.subscription_id = requests.subscription_id
        and c.requested_date >= this.ordered_date
        and {{ known_date('c.recorded_date', 'c.requested_date') }} <= requests.due_date

),

renewed_before_due as (

    select distinct requests.subscription_id, requests.term_number, requests.due_date
    from requests
    inner join terms as next_term
        on next_term.subscription_id = requests.subscription_id
        and next_term.term_number = requests.term_number + 1
        and next_term.term_source = 'order'
        and next_term.ordered_date <= requests.due_date

),

flagged as (

    select subscription_id, term_number, due_date from cancelled_before_due
    union
    select subscription_id, term_number, due_date from renewed_before_due

)

select requests.*
from requests
inner join terms as this
    on this.subscription_id = requests.subscription_id and this.term_number = requests.term_number
inner join flagged
    on flagged.subscription_id = requests.subscription_id
    and flagged.term_number = requests.term_number
    and flagged.due_date = requests.due_date
