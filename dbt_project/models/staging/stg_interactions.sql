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

    -- ingestion quarantines repeated ids; this keeps the model's key unique whatever arrives
    select * from (
        select renamed.*,
            row_number() over (partition by interaction_id order by recorded_date, source_line) as occurrence
        from renamed
    ) numbered
    where occurrence = 1

),

final as (

    select
        interaction_id,
        customer_id,
        subscription_id,
        occurred_at,
        occurred_date,
        channel,
        topic,
        note,
        recorded_date,
        source_file,
        source_line
    from deduplicated

)

select * from final
