-- stg_suspensions: Vacation holds: physical deliveries paused over [hold_from, hold_to).
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'suspensions') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        suspension_id,
        subscription_id,
        hold_from,
        hold_to,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

deduplicated as (

    {{ keep_first_occurrence('renamed', 'suspension_id') }}

),

final as (

    select
        deduplicated.*,
        -- the night the pipeline first knew the row: its recorded date, or for the migration load the
        -- event's own date (hold_from)
        {{ known_date('recorded_date', 'hold_from') }} as known_date
    from deduplicated

)

select * from final
