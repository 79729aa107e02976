-- No autocharge request (nor upcoming-charge notice) for a term that, when it was due, was already
-- cancelled or renewed by an order (docs/invariants.md, "Billing and communications"). Returns the
-- offending requests.
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

)

select requests.*
from requests
inner join terms as this
    on this.subscription_id = requests.subscription_id and this.term_number = requests.term_number
where exists (
        select 1 from {{ ref('stg_cancellations') }} as c
        where c.subscription_id = requests.subscription_id
            and c.requested_date >= this.ordered_date
            and {{ known_date('c.recorded_date', 'c.requested_date') }} <= requests.due_date
    )
    or exists (
        select 1 from terms as next_term
        where next_term.subscription_id = requests.subscription_id
            and next_term.term_number = requests.term_number + 1
            and next_term.term_source = 'order'
            and next_term.ordered_date <= requests.due_date
    )
