-- int_journal_lines__recognition: revenue recognised, one entry per month, product and currency
-- (recognition:<posting month>:<currency>:<product_id>): Dr deferred revenue (line 1); Cr revenue (line 2), at the
-- carrying amount of what each schedule line releases (int_carrying_amounts__deferred_revenue). Ratable, delivery,
-- cancellation and reversal lines (fees, credit notes and refunds post in their own entries). Dated the month's
-- last day, or the business date for the open month; what became known after its month closed posts in the first
-- open period, as an entry of its own (…:late:<the month's first day>) that names the month it belongs to.

with recognised_functional as (

    select * from {{ ref('int_carrying_amounts__deferred_revenue') }}

),

recognition_by_month as (

    -- one entry per month, product and currency; what became known after its month closed posts in the
    -- first open period, as an entry of its own that names the month it belongs to
    select
        service_period_start,
        {{ posting_period_start('service_period_start', 'known_date') }} as posting_period_start,
        product_id,
        currency,
        sum(recognised_cents) as recognised_cents,
        sum(released_functional_cents) as released_functional_cents
    from recognised_functional
    where line_kind in ('ratable', 'delivery', 'cancellation', 'reversal')
        and (recognised_cents <> 0 or released_functional_cents <> 0)
    group by 1, 2, 3, 4

),

recognition_keys as (

    select
        recognition_by_month.*,
        'recognition:' || cast(posting_period_start as {{ text_type() }}) || ':' || currency || ':' || product_id
            || case when posting_period_start > service_period_start
                then ':late:' || cast(service_period_start as {{ text_type() }}) else '' end as entry_id,
        case
            when posting_period_start > service_period_start then posting_period_start
            else least(
                cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'service_period_start')) }} as date),
                {{ business_date() }})
        end as entry_date,
        cast(service_period_start as {{ text_type() }}) || ':' || product_id as source_id
    from recognition_by_month

),

recognition_entries as (

    select
        entry_id, entry_date, 'recognition' as source, source_id,
        1 as line_number, 'deferred_revenue' as account_key, product_id, cast(null as {{ text_type() }}) as country,
        cast(null as {{ text_type() }}) as payment_method, cast(null as {{ text_type() }}) as invoice_id,
        cast(null as {{ text_type() }}) as obligation_id, cast(null as {{ text_type() }}) as customer_id, currency,
        recognised_cents as amount_cents,
        released_functional_cents as functional_cents,
        entry_date as known_date
    from recognition_keys

    union all

    select
        entry_id, entry_date, 'recognition', source_id, 2, 'revenue', product_id,
        null, null, null, null, null, currency,
        -recognised_cents,
        -released_functional_cents,
        entry_date
    from recognition_keys

)

select * from recognition_entries
