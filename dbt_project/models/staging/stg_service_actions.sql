-- stg_service_actions: Customer-service actions that cost the customer nothing: a complimentary extension (free issues of a print term, or free days of access), a reship of an issue, a goodwill credit put on the customer's credit.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'service_actions') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        service_action_id,
        customer_id,
        subscription_id,
        action_type,
        action_at,
        {{ to_business_date('action_at') }} as action_date,
        issues,
        days,
        issue_id,
        amount,
        currency,
        reason,
        note,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

deduplicated as (

    {{ keep_first_occurrence('renamed', 'service_action_id') }}

),

final as (

    select
        deduplicated.*,
        -- the night the pipeline first knew the row: its recorded date, or for the migration load the
        -- event's own date (action_date)
        {{ known_date('recorded_date', 'action_date') }} as known_date
    from deduplicated

)

select * from final
