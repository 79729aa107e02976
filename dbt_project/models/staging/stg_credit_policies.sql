-- stg_credit_policies: What a cancellation refunds: everything within full_refund_days of the order, the unserved value until no_refund_after_days (999 = always), nothing after.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'credit_policies') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        credit_policy_id,
        full_refund_days,
        no_refund_after_days,
        cancellation_fee_type,
        cancellation_fee,
        _recorded_date as recorded_date,
        _source_file as source_file,
        _source_line as source_line
    from source

),

versioned as (

    -- an upsert: each row is a version of its key, valid from its recorded date to the next one
    select
        renamed.*,
        recorded_date as valid_from,
        lead(recorded_date) over (partition by credit_policy_id order by recorded_date) as valid_to
    from renamed

),

final as (

    select
        versioned.*,
        valid_to is null as is_current
    from versioned

)

select * from final
