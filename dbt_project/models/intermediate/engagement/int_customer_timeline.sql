-- int_customer_timeline: every event of a customer, in order, whatever its date, with one line a customer-service
-- agent can read (docs/computations.md, "Customer timeline"); fct_customer_timeline shows those dated on or before
-- the night. One row per event of the sources below; every source holds only what was recorded by the night.
--   interaction         stg_interactions (occurred date)
--   order               int_orders: the feed's orders and the renewals the pipeline creates (order date)
--   invoice             fct_invoices (invoice date)
--   billing_effort      fct_billing_efforts, sent ones (due date; effort 1 is the invoice sent as a bill)
--   autocharge_request  fct_autocharge_requests, sent ones (request date)
--   payment_<status>    stg_payments: settled, failed, refunded, chargeback (payment date, business time zone)
--   renewal_notice      fct_renewal_notices with status sent (due date)
--   shipment            fct_manifest_lines: a copy on tonight's manifests (list-close date of the issue)
--   vacation_hold       stg_suspensions (the night the hold was known), through int_subscription_events
--   cancellation        stg_cancellations (requested date), through int_subscription_events
--   credit_note         fct_credit_notes (the service stop S)
--   refund              fct_refunds with refund_amount > 0 (decided on S)
--   write_off           fct_invoices.written_off_on
--   service_action      stg_service_actions: complimentary extension, reship, goodwill credit (action date)
-- Outbox messages are not events of their own: they are how efforts, notices and receipts are sent.
-- event_sequence orders a customer's events by date, then type_rank (the order of the list above), then
-- source id. Dated first, an event after the night is numbered after every event on or before it, so the
-- night's timeline (fct_customer_timeline) keeps these numbers: 1, 2, … with no gap.
-- Carried (macros/materializations/carried.sql): a customer's events are computed again only on a night one of
-- their sources changed for that customer. Every input row here has its customer, every join stays within a
-- customer (an autocharge answer is joined to its attempt only when both are the same customer's), and the
-- business date is not read: that is what lets the model carry.

{{ config(materialized=('carried' if target.type == 'duckdb' else 'table'), carry_key='customer_id') }}

with invoices as (

    select * from {{ ref('fct_invoices') }}

),

interactions as (

    select
        'interaction' as event_type,
        1 as type_rank,
        customer_id,
        occurred_date as event_date,
        subscription_id,
        'stg_interactions' as source_table,
        interaction_id as source_id,
        cast(null as decimal(18, 2)) as amount,
        cast(null as {{ text_type() }}) as currency,
        'Contact by ' || channel || ' about ' || topic
            || coalesce(': ' || note, '') as description
    from {{ ref('stg_interactions') }}

),

orders as (

    select
        'order' as event_type,
        2 as type_rank,
        customer_id,
        ordered_date as event_date,
        subscription_id,
        'int_orders' as source_table,
        order_id as source_id,
        cast(quantity * unit_price - discount + tax_amount as decimal(18, 2)) as amount,
        currency,
        'Order ' || order_id || ' (' || order_type
            || case when order_source = 'order' then '' else ', created by ' || order_source end
            || ') for ' || subscription_id || ': ' || offer_id || ' x ' || cast(quantity as {{ text_type() }})
            || ', ' || cast(cast(quantity * unit_price - discount + tax_amount as decimal(18, 2)) as {{ text_type() }})
            || ' ' || currency || ' with tax'
            -- a gift: the giver's timeline says who receives it and where it goes
            || case when ship_to_name is not null
                then ', a gift for ' || ship_to_name || ' (' || concat_ws(', ', ship_to_city, ship_to_country) || ')'
                else '' end as description
    from {{ ref('int_orders') }}

),

invoice_events as (

    select
        'invoice' as event_type,
        3 as type_rank,
        customer_id,
        invoice_date as event_date,
        subscription_id,
        'fct_invoices' as source_table,
        invoice_id as source_id,
        total_amount as amount,
        currency,
        'Invoice ' || invoice_id || ': ' || cast(total_amount as {{ text_type() }}) || ' ' || currency
            || ' due ' || cast(due_date as {{ text_type() }}) || ' (' || invoice_status || ' tonight)' as description
    from invoices

),

efforts as (

    select
        'billing_effort' as event_type,
        4 as type_rank,
        customer_id,
        due_date as event_date,
        subscription_id,
        'fct_billing_efforts' as source_table,
        effort_id as source_id,
        balance_due as amount,
        currency,
        case when effort_number = 1 then 'Bill sent for ' else 'Reminder ' || cast(effort_number - 1 as {{ text_type() }})
            || ' for ' end
            || invoice_id || ': ' || cast(balance_due as {{ text_type() }}) || ' ' || currency || ' open' as description
    from {{ ref('fct_billing_efforts') }}
    where is_sent

),

autocharges as (

    select
        'autocharge_request' as event_type,
        5 as type_rank,
        customer_id,
        request_date as event_date,
        subscription_id,
        'fct_autocharge_requests' as source_table,
        request_key as source_id,
        amount,
        currency,
        'Autocharge attempt ' || cast(attempt as {{ text_type() }}) || ' for ' || subscription_id || ' (' || renewal_offer_id
            || '): ' || cast(amount as {{ text_type() }}) || ' ' || currency || ', ' || request_status as description
    from {{ ref('fct_autocharge_requests') }}
    where is_sent

),

payments as (

    -- the invoice a payment pays (named, through its order, or created by the autocharge it answers: int_payments),
    -- and the attempt it answers
    select
        'payment_' || payments.status as event_type,
        case payments.status when 'settled' then 6 when 'failed' then 7 when 'refunded' then 8 else 9 end
            as type_rank,
        payments.customer_id,
        payments.paid_date as event_date,
        coalesce(invoices.subscription_id, attempts.subscription_id) as subscription_id,
        'stg_payments' as source_table,
        payments.payment_id as source_id,
        payments.amount,
        payments.currency,
        case payments.status
            when 'settled' then 'Payment '
            when 'failed' then 'Failed payment '
            when 'refunded' then 'Refund '
            else 'Chargeback '
        end
            || payments.payment_id || ' by ' || payments.method || ': ' || cast(payments.amount as {{ text_type() }}) || ' '
            || payments.currency
            || coalesce(' of payment ' || payments.original_payment_id, '')
            || coalesce(' for ' || targets.target_invoice_id, '')
            || coalesce(' (autocharge attempt ' || cast(attempts.attempt as {{ text_type() }}) || ' for '
                || attempts.subscription_id || ')', '') as description
    from {{ ref('stg_payments') }} as payments
    left join {{ ref('int_payments') }} as targets on targets.payment_id = payments.payment_id
    left join invoices on invoices.invoice_id = targets.target_invoice_id
    left join {{ ref('fct_autocharge_requests') }} as attempts
        on attempts.request_key = payments.autocharge_request_key and attempts.customer_id = payments.customer_id

),

notices as (

    select
        'renewal_notice' as event_type,
        10 as type_rank,
        customer_id,
        due_date as event_date,
        subscription_id,
        'fct_renewal_notices' as source_table,
        -- the notice id without its type prefix (<subscription>:<term>:<k>), so event_id reads renewal_notice:…
        subscription_id || ':' || cast(term_number as {{ text_type() }}) || ':' || cast(notice_number as {{ text_type() }}) as source_id,
        offered_total_amount as amount,
        currency,
        'Renewal notice ' || cast(notice_number as {{ text_type() }}) || ' for ' || subscription_id || ' proposing '
            || proposed_offer_id || ' at ' || cast(offered_total_amount as {{ text_type() }}) || ' ' || currency as description
    from {{ ref('fct_renewal_notices') }}
    where status = 'sent'

),

shipments as (

    select
        'shipment' as event_type,
        11 as type_rank,
        customer_id,
        list_close_date as event_date,
        subscription_id,
        'fct_manifest_lines' as source_table,
        manifest_line_id as source_id,
        cast(null as decimal(18, 2)) as amount,
        cast(null as {{ text_type() }}) as currency,
        'Issue ' || issue_id || ': ' || cast(quantity as {{ text_type() }}) || ' cop'
            || case when quantity = 1 then 'y' else 'ies' end || ' on the manifest for ' || subscription_id
            || ' (' || entitlement_kind || '), ships ' || cast(ship_date as {{ text_type() }}) || ' via ' || shipper_id
            || case when is_gift then ' to ' || ship_to_name || ', ' || concat_ws(', ', city, country) else '' end
            as description
    from {{ ref('fct_manifest_lines') }}

),

holds_and_cancellations as (

    select * from {{ ref('int_subscription_events') }}

),

credit_notes as (

    select
        'credit_note' as event_type,
        14 as type_rank,
        credit_notes.customer_id,
        credit_notes.credit_note_date as event_date,
        invoices.subscription_id,
        'fct_credit_notes' as source_table,
        credit_notes.credit_note_id as source_id,
        credit_notes.total_amount as amount,
        credit_notes.currency,
        'Credit note ' || credit_notes.credit_note_id || ' (' || credit_notes.reason || '): '
            || cast(credit_notes.total_amount as {{ text_type() }}) || ' ' || credit_notes.currency || ' credited to '
            || credit_notes.invoice_id as description
    from {{ ref('fct_credit_notes') }} as credit_notes
    left join invoices on invoices.invoice_id = credit_notes.invoice_id

),

refunds as (

    select
        'refund' as event_type,
        15 as type_rank,
        refunds.customer_id,
        refunds.decided_on as event_date,
        invoices.subscription_id,
        'fct_refunds' as source_table,
        refunds.refund_id as source_id,
        refunds.refund_amount as amount,
        refunds.currency,
        'Refund ' || refunds.refund_id || ' (' || refunds.refund_window || '): ' || cast(refunds.refund_amount as {{ text_type() }})
            || ' ' || refunds.currency || ' on ' || refunds.invoice_id
            || case when refunds.fee_amount > 0
                then ', fee ' || cast(refunds.fee_amount as {{ text_type() }}) || ' ' || refunds.currency else '' end
            as description
    from {{ ref('fct_refunds') }} as refunds
    left join invoices on invoices.invoice_id = refunds.invoice_id
    where refunds.refund_amount > 0

),

write_offs as (

    select
        'write_off' as event_type,
        16 as type_rank,
        customer_id,
        written_off_on as event_date,
        subscription_id,
        'fct_invoices' as source_table,
        invoice_id as source_id,
        written_off_amount as amount,
        currency,
        'Write-off of ' || invoice_id || ': ' || cast(written_off_amount as {{ text_type() }}) || ' ' || currency
            || ' to bad debt' as description
    from invoices
    where written_off_on is not null

),

service_actions as (

    select
        'service_action' as event_type,
        17 as type_rank,
        customer_id,
        action_date as event_date,
        subscription_id,
        'stg_service_actions' as source_table,
        service_action_id as source_id,
        amount,
        currency,
        case action_type
            when 'complimentary_extension' then 'Complimentary extension of ' || subscription_id || ': '
                || coalesce(cast(issues as {{ text_type() }}) || ' free issue(s)', cast(days as {{ text_type() }}) || ' free day(s)')
            when 'reship' then 'Reship of issue ' || issue_id || ' for ' || subscription_id
            else 'Goodwill credit of ' || cast(amount as {{ text_type() }}) || ' ' || currency || ' put on the customer''s credit'
        end || ' (' || reason || ')' as description
    from {{ ref('stg_service_actions') }}

),

events as (

    select * from interactions
    union all
    select * from orders
    union all
    select * from invoice_events
    union all
    select * from efforts
    union all
    select * from autocharges
    union all
    select * from payments
    union all
    select * from notices
    union all
    select * from shipments
    union all
    select * from holds_and_cancellations
    union all
    select * from credit_notes
    union all
    select * from refunds
    union all
    select * from write_offs
    union all
    select * from service_actions

),

final as (

    select
        event_type || ':' || source_id as event_id,
        customer_id,
        row_number() over (
            partition by customer_id order by event_date, type_rank, source_id) as event_sequence,
        event_date,
        event_type,
        type_rank,
        subscription_id,
        source_table,
        source_id,
        amount,
        currency,
        description
    from events

)

select * from final
