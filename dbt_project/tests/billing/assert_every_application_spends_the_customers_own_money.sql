-- Every application spends money of its own customer: a settled payment of that customer, or a goodwill credit
-- granted to them (a service action, whose applications carry its id, as its credit movements do). A plain
-- relationships test to stg_payments would refuse every goodwill credit that pays an invoice.
-- Returns the applications whose money is neither.
{{ config(tags=["billing"], meta={"dagster": {"ref": {"name": "fct_payment_applications"}}}) }}

select applications.application_id, applications.payment_id, applications.customer_id
from {{ ref('fct_payment_applications') }} as applications
where not exists (
        select 1 from {{ ref('stg_payments') }} as payments
        where payments.payment_id = applications.payment_id and payments.customer_id = applications.customer_id
    )
    and not exists (
        select 1 from {{ ref('stg_service_actions') }} as actions
        where actions.service_action_id = applications.payment_id
            and actions.action_type = 'goodwill_credit'
            and actions.customer_id = applications.customer_id
    )
