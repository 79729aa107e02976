-- stg_inventory_receipts: Stock received into the warehouse, per SKU.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'inventory_receipts') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        receipt_id,
        sku,
        received_date,
        quantity,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

deduplicated as (

    {{ keep_first_occurrence('renamed', 'receipt_id') }}

),

final as (

    select * from deduplicated

)

select * from final
