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

    -- ingestion quarantines repeated ids; this keeps the model's key unique whatever arrives
    select * from (
        select renamed.*,
            row_number() over (partition by payment_id order by recorded_date, source_line) as occurrence
        from renamed
    ) numbered
    where occurrence = 1

),

final as (

    select
        payment_id,
        customer_id,
        invoice_id,
        order_id,
        paid_at,
        paid_date,
        amount,
        currency,
        method,
        status,
        original_payment_id,
        processor_reference,
        autocharge_request_key,
        recorded_date,
        source_file,
        source_line
    from deduplicated

)

select * from final
