-- stg_offers: The rate card: what is sold, for how long, at what price, to whom, and what it renews into.
-- generated from lifecycle/contract.py by `lifecycle contract --write`; do not edit

with source as (

    select * from {{ source('raw', 'offers') }}
    where _recorded_date <= {{ business_date() }}

),

renamed as (

    select
        offer_id,
        offer_name,
        term_length,
        term_unit,
        price,
        currency,
        countries,
        segment,
        tier,
        autorenew_allowed,
        credit_policy_id,
        renewal_offer_id,
        available_from,
        available_to,
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
        lead(recorded_date) over (partition by offer_id order by recorded_date) as valid_to
    from renamed

),

final as (

    select
        versioned.*,
        valid_to is null as is_current
    from versioned

)

select * from final
