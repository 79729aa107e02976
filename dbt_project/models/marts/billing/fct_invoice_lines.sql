-- fct_invoice_lines: one line per offer component of each order's invoice. The order's net
-- (quantity × unit price − discount) is allocated to components by standalone selling price in the
-- invoice currency, and its tax to lines pro rata to their net; both cumulatively rounded in
-- component order, so the lines always sum to the invoice.

with orders as (

    select
        order_id,
        offer_id,
        currency,
        recorded_date,
        quantity,
        {{ to_cents('quantity * unit_price - discount') }} as net_cents,
        {{ to_cents('tax_amount') }} as tax_cents
    from {{ ref('int_orders') }}

),

components as (

    -- the offer's components and SSPs in the versions in force when the order was recorded:
    -- an allocation, once made, never moves
    select
        orders.*,
        component.component_seq,
        component.product_id,
        component.quantity as component_quantity,
        coalesce({{ to_cents('ssp.standalone_selling_price') }}, 0) as ssp_cents
    from orders
    inner join {{ ref('stg_offer_components') }} as component
        on component.offer_id = orders.offer_id
        and component.valid_from <= orders.recorded_date
        and (component.valid_to is null or orders.recorded_date < component.valid_to)
    left join {{ ref('stg_product_ssp') }} as ssp
        on ssp.product_id = component.product_id
        and ssp.currency = orders.currency
        and ssp.valid_from <= orders.recorded_date
        and (ssp.valid_to is null or orders.recorded_date < ssp.valid_to)

),

weighted as (

    select
        components.*,
        -- without any SSP (a single-product offer needs none) the components share equally
        case when sum(ssp_cents) over (partition by order_id) = 0 then 1 else ssp_cents end as weight
    from components

),

running as (

    select
        weighted.*,
        sum(weight) over (
            partition by order_id order by component_seq rows between unbounded preceding and current row
        ) as cumulative_weight,
        sum(weight) over (partition by order_id) as total_weight
    from weighted

),

net_allocated as (

    select
        running.*,
        {{ div_round_half_up('cast(net_cents as ' ~ wide_int() ~ ') * cumulative_weight', 'total_weight') }}
            as cumulative_net_cents
    from running

),

net_lines as (

    select
        net_allocated.*,
        cumulative_net_cents - coalesce(
            lag(cumulative_net_cents) over (partition by order_id order by component_seq), 0
        ) as line_net_cents
    from net_allocated

),

tax_allocated as (

    select
        net_lines.*,
        {{ pro_rata_cents('tax_cents', 'cumulative_net_cents', 'net_cents') }} as cumulative_tax_cents
    from net_lines

),

lines as (

    select
        order_id,
        component_seq as line_number,
        product_id,
        quantity * component_quantity as quantity,
        currency,
        {{ cents_to_money('ssp_cents') }} as standalone_selling_price,
        {{ cents_to_money('line_net_cents') }} as net_amount,
        {{ cents_to_money(
            'cumulative_tax_cents - coalesce(lag(cumulative_tax_cents) over '
            ~ '(partition by order_id order by component_seq), 0)') }} as tax_amount
    from tax_allocated

),

final as (

    select
        invoices.invoice_id || ':' || cast(lines.line_number as {{ text_type() }}) as invoice_line_id,
        invoices.invoice_id,
        lines.*
    from lines
    inner join {{ ref('int_invoices') }} as invoices
        on invoices.order_id = lines.order_id

)

select * from final
