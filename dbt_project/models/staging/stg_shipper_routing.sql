-- stg_shipper_routing: Which shipper serves an address: country and postal prefix, then country, then the default (both empty).
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'shipper_routing') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        routing_id,
        country,
        postal_prefix,
        shipper_id,
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
        lead(recorded_date) over (partition by routing_id order by recorded_date) as valid_to
    from renamed

),

final as (

    select
        versioned.*,
        valid_to is null as is_current
    from versioned

)

select * from final
