-- fct_quarantined_rows: every landing line refused so far, for the people who fix the source systems.

with quarantined as (

    select * from {{ ref('stg_quarantined_rows') }}

),

final as (

    select
        feed || ':' || file || ':' || cast(line as {{ text_type() }}) as quarantined_row_id,
        quarantined.*
    from quarantined

)

select * from final
