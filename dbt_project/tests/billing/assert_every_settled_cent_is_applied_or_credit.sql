-- Cash application identity (docs/invariants.md, "Billing and communications"), per customer and
-- currency:
--   applications from payments + unused payment credit = settled − charged back − refunds of credit,
-- goodwill credits (service actions) counting as money in: + goodwill granted on the right.
-- Returns the (customer, currency) pairs where it does not hold.
{{ config(tags=["billing"], meta={"dagster": {"ref": {"name": "fct_payment_applications"}}}) }}

with payments as (

    select
        customer_id,
        currency,
        sum(case when status = 'settled' then amount else 0 end) as settled,
        sum(case when status = 'chargeback' then amount else 0 end) as charged_back
    from (
        select customer_id, currency, status, amount from {{ ref('stg_payments') }}
        union all
        select customer_id, currency, 'settled', amount from {{ ref('stg_service_actions') }}
        where action_type = 'goodwill_credit'
    ) as money_in
    group by customer_id, currency

),

applications as (

    select customer_id, currency, sum(applied_amount) as applied
    from {{ ref('fct_payment_applications') }}
    group by customer_id, currency

),

credits as (

    select
        customer_id,
        currency,
        sum(amount) as unused_credit,
        -sum(case when movement_kind = 'refund' then amount else 0 end) as refunded_credit
    from {{ ref('fct_customer_credits') }}
    group by customer_id, currency

),

compared as (

    select
        payments.customer_id,
        payments.currency,
        payments.settled,
        payments.charged_back,
        coalesce(applications.applied, 0) as applied,
        coalesce(credits.unused_credit, 0) as unused_credit,
        coalesce(credits.refunded_credit, 0) as refunded_credit
    from payments
    left join applications
        on applications.customer_id = payments.customer_id and applications.currency = payments.currency
    left join credits
        on credits.customer_id = payments.customer_id and credits.currency = payments.currency

)

select *
from compared
where applied + unused_credit <> settled - charged_back - refunded_credit
