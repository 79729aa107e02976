-- int_carrying_amounts__customer_credits: what each use of a customer credit (applied to an invoice, refunded,
-- taken back by a chargeback) takes off customer credits in functional currency (docs/conventions.md, "Foreign
-- exchange"). A credit is booked at the rate of the day it was created: the overpayment's (its excess, at the
-- payment's rate) or the goodwill credit's (at the service action's rate); its uses relieve their share of that
-- carrying amount cumulatively, in date order. One row per credit movement other than the one creating it. Read
-- by the credit use, chargeback and refund entries.

with fx as (

    select currency, rate_day, rate from {{ ref('int_fx_rates_daily') }}

),

payments as (

    select
        payments.payment_id,
        {{ rate_or_one('payments.currency', 'fx') }} as rate
    from {{ ref('stg_payments') }} as payments
    left join fx on fx.currency = payments.currency and fx.rate_day = payments.paid_date
    where payments.status in ('settled', 'refunded', 'chargeback')

),

credit_movements as (

    select
        credit_movement_id,
        payment_id,
        customer_id,
        currency,
        invoice_id,
        movement_date,
        movement_kind,
        {{ to_cents('amount') }} as amount_cents
    from {{ ref('fct_customer_credits') }}

),

goodwill as (

    select
        actions.service_action_id,
        {{ to_cents('actions.amount') }} as amount_cents,
        {{ rate_or_one('actions.currency', 'fx') }} as rate
    from {{ ref('stg_service_actions') }} as actions
    left join fx on fx.currency = actions.currency and fx.rate_day = actions.action_date
    where actions.action_type = 'goodwill_credit'

),

credit_booked as (

    -- a credit is booked at the rate of the day it was created: the payment's, or the goodwill credit's
    select
        credit_movements.payment_id,
        sum(credit_movements.amount_cents) as excess_cents,
        {{ convert_cents('sum(credit_movements.amount_cents)', 'min(payments.rate)') }} as excess_functional_cents
    from credit_movements
    inner join payments on payments.payment_id = credit_movements.payment_id
    where credit_movements.movement_kind = 'excess'
    group by credit_movements.payment_id

    union all

    select
        goodwill.service_action_id,
        goodwill.amount_cents,
        {{ convert_cents('goodwill.amount_cents', 'goodwill.rate') }}
    from goodwill

),

credit_relief as (

    select
        credit_movements.*,
        {{ carrying_share('credit_booked.excess_functional_cents',
            'sum(-credit_movements.amount_cents) over (partition by credit_movements.payment_id order by '
            ~ 'credit_movements.movement_date, credit_movements.credit_movement_id '
            ~ 'rows between unbounded preceding and current row)',
            'credit_booked.excess_cents') }} as cumulative_functional_cents
    from credit_movements
    inner join credit_booked on credit_booked.payment_id = credit_movements.payment_id
    where credit_movements.movement_kind not in ('excess', 'goodwill')

),

credit_relief_functional as (

    select
        credit_relief.*,
        cumulative_functional_cents - coalesce(lag(cumulative_functional_cents) over (
            partition by payment_id order by movement_date, credit_movement_id), 0) as relief_functional_cents
    from credit_relief

)

select * from credit_relief_functional
