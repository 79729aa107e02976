-- stg_customers: Customers (subscribers, gift givers, members). A new row for a known id is a new version.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'customers') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        customer_id,
        first_name,
        last_name,
        organisation,
        address_line1,
        address_line2,
        city,
        region,
        postal_code,
        country,
        email,
        segment,
        email_opt_in,
        mail_opt_in,
        do_not_contact,
        deceased,
        undeliverable,
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
        lead(recorded_date) over (partition by customer_id order by recorded_date) as valid_to
    from renamed

),

final as (

    select
        versioned.*,
        valid_to is null as is_current
    from versioned

)

select * from final
