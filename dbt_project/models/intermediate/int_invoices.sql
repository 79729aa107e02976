-- int_invoices: one invoice per order (feed orders and the renewals the pipeline creates), dated the order date, numbered gap-free per year of the
-- invoice date in the order the orders were recorded (recorded date, order timestamp, order id),
-- so that a number once published never changes when late orders arrive.

with orders as (

    select * from {{ ref('int_orders') }}

),

numbered as (

    select
        orders.*,
        extract(year from ordered_date) as invoice_year,
        row_number() over (
            partition by extract(year from ordered_date)
            order by recorded_date, ordered_at, order_id
        ) as invoice_sequence,
        case payment_terms
            when 'net_15' then 15
            when 'net_30' then 30
            when 'net_60' then 60
            else 0
        end as payment_days
    from orders

),

final as (

    select
        'INV-' || cast(invoice_year as {{ text_type() }}) || '-'
            || case
                when invoice_sequence >= 1000000 then cast(invoice_sequence as {{ text_type() }})
                else lpad(cast(invoice_sequence as {{ text_type() }}), 6, '0')
            end as invoice_id,
        order_id,
        customer_id,
        subscription_id,
        order_type,
        offer_id,
        ordered_date as invoice_date,
        cast({{ dbt.dateadd('day', 'payment_days', 'ordered_date') }} as date) as due_date,
        payment_terms,
        currency,
        cast(quantity * unit_price as decimal(18, 2)) as gross_amount,
        discount as discount_amount,
        cast(quantity * unit_price - discount as decimal(18, 2)) as net_amount,
        tax_rate,
        tax_amount,
        cast(quantity * unit_price - discount + tax_amount as decimal(18, 2)) as total_amount,
        recorded_date,
        order_source,
        settling_payment_id,
        {{ known_date('recorded_date', 'ordered_date') }} as known_date
    from numbered

)

select * from final
