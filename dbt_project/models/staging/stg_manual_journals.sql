-- stg_manual_journals: Journal entries from finance (accruals, reclassifications), one row per line. An entry is posted whole or not at all: when one line is refused, or the entry does not balance in one of its currencies, every line of the entry is quarantined. Accounts kept by the pipeline's sub-ledgers (receivables, customer credits, cash clearing, deferred revenue, revenue, tax and refunds payable) are closed to manual entries.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'manual_journals') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        entry_id,
        line_number,
        entry_date,
        account_code,
        debit,
        credit,
        currency,
        memo,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

deduplicated as (

    {{ keep_first_occurrence('renamed', ['entry_id', 'line_number']) }}

),

final as (

    select
        deduplicated.*,
        -- the night the pipeline first knew the row: its recorded date, or for the migration load the
        -- event's own date (entry_date)
        {{ known_date('recorded_date', 'entry_date') }} as known_date
    from deduplicated

)

select * from final
