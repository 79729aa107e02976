-- stg_product_ssp: Standalone selling price of a product per currency: the basis of bundle allocation.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'product_ssp') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        product_id,
        currency,
        standalone_selling_price,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

versioned as (

    -- an upsert: each row is a version of its key, valid from its recorded date to the next one
    select
        renamed.*,
        recorded_date as valid_from,
        lead(recorded_date) over (partition by product_id, currency order by recorded_date) as valid_to
    from renamed

),

final as (

    select
        versioned.*,
        valid_to is null as is_current
    from versioned

)

select * from final
