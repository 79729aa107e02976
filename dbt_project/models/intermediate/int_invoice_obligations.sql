-- int_invoice_obligations: one performance obligation per invoice line (per offer component), carrying the
-- line's allocated net (allocation happens once, on the invoice lines), the product's revenue method and
-- what satisfies it:
--   ratable_daily   evenly per day over the term [service_start, service_end)
--   per_issue       line / N per issue delivered, N = the term's entitled issues
--   per_shipment    line / N per volume shipped, N = the term's volumes
--   point_in_time   all of it at shipment (the service start)
-- service_stop is where a customer's cancellation stops recognition: its service end S, when it falls before
-- the term's end. This model comes before cash application (which needs the unserved value at S to credit
-- it); int_revenue_obligations adds the stop of a cancellation for nonpayment, which cash application decides.

with lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

invoices as (

    select invoice_id, order_id, customer_id, invoice_date, recorded_date
    from {{ ref('int_invoices') }}

),

terms as (

    select
        order_id,
        subscription_id,
        term_number,
        term_unit,
        term_length,
        start_date,
        end_date,
        issue_count
    from {{ ref('int_subscription_terms') }}

),

cancellations as (

    select subscription_id, term_number, service_end, cancellation_id, requested_date
    from {{ ref('int_term_cancellations') }}
    where service_end is not null

),

products as (

    -- the product version in force when the invoice was recorded: a method, once chosen, never moves
    select product_id, revenue_method, shipment_interval_months, valid_from, valid_to
    from {{ ref('stg_products') }}

),

joined as (

    select
        lines.invoice_line_id as obligation_id,
        lines.invoice_id,
        lines.line_number,
        invoices.order_id,
        terms.subscription_id,
        terms.term_number,
        invoices.customer_id,
        lines.product_id,
        products.revenue_method as product_method,
        lines.currency,
        lines.net_amount as amount,
        {{ to_cents('lines.net_amount') }} as amount_cents,
        invoices.invoice_date,
        terms.term_unit,
        terms.term_length,
        terms.start_date,
        terms.end_date,
        coalesce(products.shipment_interval_months, 1) as shipment_interval_months,
        cancellations.service_end as stopped_on,
        cancellations.cancellation_id,
        cancellations.requested_date as cancellation_requested_date
    from lines
    inner join invoices on invoices.invoice_id = lines.invoice_id
    inner join terms on terms.order_id = invoices.order_id
    left join cancellations
        on cancellations.subscription_id = terms.subscription_id and cancellations.term_number = terms.term_number
    left join products
        on products.product_id = lines.product_id
        and products.valid_from <= invoices.recorded_date
        and (products.valid_to is null or invoices.recorded_date < products.valid_to)

),

final as (

    select
        obligation_id,
        invoice_id,
        line_number,
        order_id,
        subscription_id,
        term_number,
        customer_id,
        product_id,
        currency,
        -- a per-issue product sold on a term counted in months or shipments has no issue count to divide
        -- by: it is recognised over the term's days, like digital
        case
            when product_method = 'per_issue' and term_unit <> 'issues' then 'ratable_daily'
            else coalesce(product_method, 'ratable_daily')
        end as revenue_method,
        amount,
        amount_cents,
        invoice_date,
        start_date as service_start,
        end_date as service_end,
        case
            when stopped_on is not null and (end_date is null or stopped_on < end_date)
                then greatest(stopped_on, start_date)
        end as service_stop,
        case when stopped_on is not null and (end_date is null or stopped_on < end_date) then cancellation_id end
            as cancellation_id,
        case when stopped_on is not null and (end_date is null or stopped_on < end_date)
            then cancellation_requested_date end as cancellation_requested_date,
        case
            when product_method = 'per_issue' and term_unit = 'issues' then term_length
            when product_method = 'per_shipment' then term_length
            when product_method = 'point_in_time' then 1
        end as delivery_count,
        shipment_interval_months
    from joined

)

select * from final
