-- stg_orders: Orders: new subscriptions, gifts, renewals, upgrades and reactivations.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'orders') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        order_id,
        customer_id,
        subscription_id,
        ordered_at,
        {{ to_business_date('ordered_at') }} as ordered_date,
        order_type,
        offer_id,
        quantity,
        unit_price,
        discount,
        tax_rate,
        tax_amount,
        currency,
        service_start,
        autorenew,
        payment_method_token,
        payment_terms,
        ship_to_name,
        ship_to_address_line1,
        ship_to_address_line2,
        ship_to_city,
        ship_to_region,
        ship_to_postal_code,
        ship_to_country,
        promotion_code,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

deduplicated as (

    {{ keep_first_occurrence('renamed', 'order_id') }}

),

final as (

    select * from deduplicated

)

select * from final
