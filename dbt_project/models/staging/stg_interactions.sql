-- stg_interactions: Customer-service contacts, for the customer timeline.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'interactions') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        interaction_id,
        customer_id,
        subscription_id,
        occurred_at,
        {{ to_business_date('occurred_at') }} as occurred_date,
        channel,
        topic,
        note,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

deduplicated as (

    {{ keep_first_occurrence('renamed', 'interaction_id') }}

),

final as (

    select * from deduplicated

)

select * from final
