-- fct_outbox_messages: every customer message the night's state implies, one row per message, with a
-- deterministic id (<type>:<what it is about>[:<effort>]). A message is due on the night the pipeline
-- first knew its cause; nothing due before the cut-over is sent. The channel follows the customer's
-- flags as of the due date: email when there is an address, else mail when mail_opt_in (and the
-- address is deliverable); nothing for do_not_contact or deceased (suppressed_reason says why).
-- exports/outbox/<D>/messages.jsonl carries the rows with is_sent and a channel, due by D, not yet in
-- the export register.
-- Carried (macros/materializations/carried.sql): a customer's messages are computed again only on a night their
-- inputs changed; every input row here has the customer's id.

{{ config(materialized=('carried' if target.type == 'duckdb' else 'table'), carry_key='customer_id') }}

with orders as (

    select
        orders.order_id,
        orders.customer_id,
        orders.subscription_id,
        orders.offer_id,
        orders.ordered_date,
        orders.service_start,
        orders.payment_terms,
        orders.order_source,
        invoices.invoice_id,
        invoices.total_amount,
        invoices.currency,
        {{ known_date('orders.recorded_date', 'orders.ordered_date') }} as due_date
    from {{ ref('int_orders') }} as orders
    inner join {{ ref('int_invoices') }} as invoices on invoices.order_id = orders.order_id

),

order_confirmations as (

    select
        'order_confirmation:' || order_id as message_id,
        'order_confirmation' as message_type,
        cast(null as integer) as effort_number,
        customer_id,
        subscription_id,
        order_id as source_id,
        due_date,
        {{ json_object_text([
            ('order_id', 'order_id'),
            ('invoice_id', 'invoice_id'),
            ('offer_id', 'offer_id'),
            ('order_date', 'cast(ordered_date as ' ~ text_type() ~ ')'),
            ('service_start', 'cast(service_start as ' ~ text_type() ~ ')'),
            ('payment_terms', 'payment_terms'),
            ('renewed_by', 'case when order_source = \'order\' then null else order_source end'),
            ('total', 'cast(total_amount as ' ~ text_type() ~ ')'),
            ('currency', 'currency'),
        ]) }} as template_variables
    from orders

),

efforts as (

    select
        case when efforts.effort_number = 1 then 'invoice:' || efforts.invoice_id
            else 'invoice_reminder:' || efforts.invoice_id || ':' || cast(efforts.effort_number as {{ text_type() }})
        end as message_id,
        case when efforts.effort_number = 1 then 'invoice' else 'invoice_reminder' end as message_type,
        efforts.effort_number,
        efforts.customer_id,
        efforts.subscription_id,
        efforts.invoice_id as source_id,
        efforts.due_date,
        {{ json_object_text([
            ('invoice_id', 'efforts.invoice_id'),
            ('invoice_date', 'cast(invoices.invoice_date as ' ~ text_type() ~ ')'),
            ('payment_due_date', 'cast(invoices.due_date as ' ~ text_type() ~ ')'),
            ('effort_number', 'efforts.effort_number'),
            ('invoice_total', 'cast(invoices.total_amount as ' ~ text_type() ~ ')'),
            ('balance_due', 'cast(efforts.balance_due as ' ~ text_type() ~ ')'),
            ('currency', 'efforts.currency'),
        ]) }} as template_variables
    from {{ ref('fct_billing_efforts') }} as efforts
    inner join {{ ref('int_invoices') }} as invoices on invoices.invoice_id = efforts.invoice_id

),

payments as (

    select
        case when status = 'settled' then 'payment_receipt:' else 'payment_failed:' end || payment_id as message_id,
        case when status = 'settled' then 'payment_receipt' else 'payment_failed' end as message_type,
        cast(null as integer) as effort_number,
        customer_id,
        cast(null as {{ text_type() }}) as subscription_id,
        payment_id as source_id,
        {{ known_date('recorded_date', 'paid_date') }} as due_date,
        {{ json_object_text([
            ('payment_id', 'payment_id'),
            ('payment_date', 'cast(paid_date as ' ~ text_type() ~ ')'),
            ('amount', 'cast(amount as ' ~ text_type() ~ ')'),
            ('currency', 'currency'),
            ('method', 'method'),
            ('invoice_id', 'invoice_id'),
            ('order_id', 'order_id'),
            ('autocharge_request_key', 'autocharge_request_key'),
        ]) }} as template_variables
    from {{ ref('stg_payments') }}
    where status in ('settled', 'failed') and original_payment_id is null

),

upcoming_charges as (

    select
        'upcoming_autocharge:' || request_key as message_id,
        'upcoming_autocharge' as message_type,
        cast(null as integer) as effort_number,
        customer_id,
        subscription_id,
        request_key as source_id,
        notice_date as due_date,
        {{ json_object_text([
            ('subscription_id', 'subscription_id'),
            ('term_end', 'cast(end_date as ' ~ text_type() ~ ')'),
            ('charge_date', 'cast(request_date as ' ~ text_type() ~ ')'),
            ('renewal_offer_id', 'renewal_offer_id'),
            ('amount', 'cast(' ~ cents_to_money('amount_cents') ~ ' as ' ~ text_type() ~ ')'),
            ('currency', 'currency'),
        ]) }} as template_variables
    from {{ ref('int_billing_chains') }}
    where record_type = 'notice'

),

renewal_notices as (

    -- with the upsell that rides the notice, for customers who opted in to its channel
    select
        notices.notice_id as message_id,
        'renewal_notice' as message_type,
        notices.notice_number as effort_number,
        notices.customer_id,
        notices.subscription_id,
        notices.subscription_id || ':' || cast(notices.term_number as {{ text_type() }}) as source_id,
        notices.due_date,
        {{ json_object_text([
            ('subscription_id', 'notices.subscription_id'),
            ('notice_number', 'cast(notices.notice_number as ' ~ text_type() ~ ')'),
            ('term_end', 'cast(notices.term_end as ' ~ text_type() ~ ')'),
            ('offer_id', 'notices.proposed_offer_id'),
            ('quantity', 'cast(notices.quantity as ' ~ text_type() ~ ')'),
            ('amount', 'cast(notices.offered_total_amount as ' ~ text_type() ~ ')'),
            ('currency', 'notices.currency'),
            ('upsell_offer_id', 'upsells.offer_id'),
            ('upsell_product_id', 'upsells.to_product_id'),
        ]) }} as template_variables
    from {{ ref('fct_renewal_notices') }} as notices
    left join {{ ref('fct_upsell_candidates') }} as upsells
        on upsells.touchpoint_id = notices.notice_id and upsells.is_marketable
    where notices.status <> 'scheduled'

),

cancellation_confirmations as (

    select
        'cancellation_confirmation:' || cancellation_id as message_id,
        'cancellation_confirmation' as message_type,
        cast(null as integer) as effort_number,
        customer_id,
        subscription_id,
        cancellation_id as source_id,
        known_on as due_date,
        {{ json_object_text([
            ('subscription_id', 'subscription_id'),
            ('requested_date', 'cast(requested_date as ' ~ text_type() ~ ')'),
            ('service_end', 'cast(service_end as ' ~ text_type() ~ ')'),
            ('outcome', 'outcome'),
            ('refund', 'case when refund_amount > 0 then cast(refund_amount as ' ~ text_type() ~ ') end'),
            ('currency', 'currency'),
        ]) }} as template_variables
    from {{ ref('fct_cancellations') }}
    where outcome <> 'no_effect' and customer_id is not null

),

refunds as (

    select
        'refund:' || refund_id as message_id,
        'refund' as message_type,
        cast(null as integer) as effort_number,
        customer_id,
        cast(null as {{ text_type() }}) as subscription_id,
        refund_id as source_id,
        decided_on as due_date,
        {{ json_object_text([
            ('invoice_id', 'invoice_id'),
            ('refund_window', 'refund_window'),
            ('fee', 'cast(fee_amount as ' ~ text_type() ~ ')'),
            ('amount', 'cast(refund_amount as ' ~ text_type() ~ ')'),
            ('currency', 'currency'),
        ]) }} as template_variables
    from {{ ref('fct_refunds') }}
    where refund_amount > 0

),

messages as (

    select * from order_confirmations
    union all
    select * from efforts
    union all
    select * from payments
    union all
    select * from upcoming_charges
    union all
    select * from renewal_notices
    union all
    select * from cancellation_confirmations
    union all
    select * from refunds

),

customer_versions as (

    select
        customers.*,
        min(valid_from) over (partition by customer_id) as first_valid_from
    from {{ ref('stg_customers') }} as customers

),

addressed as (

    -- the customer as of the due date (the first known version for messages older than the customer row)
    select
        messages.*,
        customers.first_name,
        customers.last_name,
        customers.email,
        customers.address_line1,
        customers.address_line2,
        customers.city,
        customers.region,
        customers.postal_code,
        customers.country,
        customers.mail_opt_in,
        customers.do_not_contact,
        customers.deceased,
        customers.undeliverable
    from messages
    left join customer_versions as customers
        on customers.customer_id = messages.customer_id
        and customers.valid_from <= greatest(messages.due_date, customers.first_valid_from)
        and (customers.valid_to is null or customers.valid_to > greatest(messages.due_date, customers.first_valid_from))

),

routed as (

    select
        addressed.*,
        case
            when deceased then 'deceased'
            when do_not_contact then 'do_not_contact'
            when nullif(trim(email), '') is not null then null
            when not mail_opt_in then 'no_channel'
            when undeliverable then 'undeliverable'
        end as suppressed_reason
    from addressed

),

final as (

    select
        message_id,
        message_type,
        effort_number,
        customer_id,
        subscription_id,
        source_id,
        due_date,
        {{ due_on_or_after_cutover('due_date') }} as is_sent,
        case
            when suppressed_reason is not null then null
            when nullif(trim(email), '') is not null then 'email'
            else 'mail'
        end as channel,
        suppressed_reason,
        case
            when suppressed_reason is not null then null
            when nullif(trim(email), '') is not null then trim(email)
            else concat_ws(', ', address_line1, nullif(address_line2, ''), city, region, postal_code, country)
        end as recipient,
        first_name,
        last_name,
        -- the postal address, for messages that go by mail (a lettershop prints from these)
        case when suppressed_reason is null and nullif(trim(email), '') is null then address_line1 end
            as address_line1,
        case when suppressed_reason is null and nullif(trim(email), '') is null then address_line2 end
            as address_line2,
        case when suppressed_reason is null and nullif(trim(email), '') is null then city end as city,
        case when suppressed_reason is null and nullif(trim(email), '') is null then region end as region,
        case when suppressed_reason is null and nullif(trim(email), '') is null then postal_code end as postal_code,
        case when suppressed_reason is null and nullif(trim(email), '') is null then country end as country,
        template_variables
    from routed

)

select * from final
