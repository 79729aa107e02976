-- stg_payments: Money in and out: settled and failed payments, refunds and chargebacks (which name the payment they reverse).
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'payments') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        payment_id,
        customer_id,
        invoice_id,
        order_id,
        paid_at,
        {{ to_business_date('paid_at') }} as paid_date,
        amount,
        currency,
        method,
        status,
        original_payment_id,
        processor_reference,
        autocharge_request_key,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

deduplicated as (

    {{ keep_first_occurrence('renamed', 'payment_id') }}

),

final as (

    select
        deduplicated.*,
        -- the night the pipeline first knew the row: its recorded date, or for the migration load the
        -- event's own date (paid_date)
        {{ known_date('recorded_date', 'paid_date') }} as known_date
    from deduplicated

)

select * from final
