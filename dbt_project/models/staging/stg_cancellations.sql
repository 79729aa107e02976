-- stg_cancellations: Requests to stop a subscription.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'cancellations') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        cancellation_id,
        subscription_id,
        requested_at,
        {{ to_business_date('requested_at') }} as requested_date,
        effective_date,
        reason,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

deduplicated as (

    {{ keep_first_occurrence('renamed', 'cancellation_id') }}

),

final as (

    select
        deduplicated.*,
        -- the night the pipeline first knew the row: its recorded date, or for the migration load the
        -- event's own date (requested_date)
        {{ known_date('recorded_date', 'requested_date') }} as known_date
    from deduplicated

)

select * from final
