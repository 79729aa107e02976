-- stg_quarantined_rows: landing lines refused by ingestion, recorded on or before the business date.

with source as (

    select * from {{ source('quarantine', 'quarantined_rows') }}
    where recorded_date <= {{ business_date() }}

),

final as (

    select
        feed,
        recorded_date,
        file,
        line,
        column_name,
        rule,
        message,
        original_text,
        other_failures
    from source

)

select * from final
