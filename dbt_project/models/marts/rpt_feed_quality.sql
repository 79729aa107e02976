-- rpt_feed_quality: per feed and recorded date, rows accepted into the warehouse and rows quarantined.
-- (the sources are listed only when the model runs, so the business date's model is named here for the parse)
-- depends_on: {{ ref('warehouse_night') }}

with accepted as (

    {%- set raw_tables = [] %}
    {%- if execute %}
        {%- for node in graph.sources.values() | sort(attribute='name') if node.source_name == 'raw' %}
            {%- do raw_tables.append(node.name) %}
        {%- endfor %}
    {%- endif %}
    {%- for table in raw_tables %}
    select '{{ table }}' as feed, _recorded_date as recorded_date, count(*) as rows_accepted
    from {{ source('raw', table) }}
    where _recorded_date <= {{ business_date() }}
    group by _recorded_date
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- if raw_tables | length == 0 %}
    select cast(null as {{ text_type() }}) as feed, cast(null as date) as recorded_date, cast(0 as bigint) as rows_accepted
    where 1 = 0
    {%- endif %}

),

quarantined as (

    select feed, recorded_date, count(*) as rows_quarantined
    from {{ ref('stg_quarantined_rows') }}
    group by feed, recorded_date

),

final as (

    select
        coalesce(a.feed, q.feed) || ':' || cast(coalesce(a.recorded_date, q.recorded_date) as {{ text_type() }}) as feed_date_id,
        coalesce(a.feed, q.feed) as feed,
        coalesce(a.recorded_date, q.recorded_date) as recorded_date,
        coalesce(a.rows_accepted, 0) + coalesce(q.rows_quarantined, 0) as rows_read,
        coalesce(a.rows_accepted, 0) as rows_accepted,
        coalesce(q.rows_quarantined, 0) as rows_quarantined
    from accepted a
    full outer join quarantined q
        on a.feed = q.feed and a.recorded_date = q.recorded_date
    where coalesce(a.rows_accepted, 0) + coalesce(q.rows_quarantined, 0) > 0

)

select * from final
