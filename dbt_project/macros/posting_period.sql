{#
    The period before the cut-over month ('YYYY-MM'), which holds the opening-balance entry, and its last
    day ('YYYY-MM-DD', the entry's date); '' without a cut-over. The pipeline hands the date over as the var
    opening_date (Settings.opening_date, the one place it is worked out from the cut-over date).
#}
{% macro opening_period() -%}
    {%- set last_day = opening_date() -%}
    {{- last_day[0:7] if last_day else '' -}}
{%- endmacro %}

{% macro opening_date() -%}
    {{- var('opening_date') | string -}}
{%- endmacro %}

{#
    The first day of the period an entry posts in: its own period (natural_start, a month's first day),
    unless that period was already closed on the night the entry became known (known_date); then the first
    period open that night. The close calendar is the source pipeline.close_calendar, which the pipeline writes
    from Settings.close_calendar (lifecycle.toml [close], and the opening period closed on the cut-over date);
    periods close in order, so the latest close on or before known_date says which periods were closed (on
    the same close date, the later period). A period closes for the ledger earlier than its close date when
    the nights just before the close wrote no GL file (source pipeline.ledger_closes): what they first knew is
    in no file of the period, so it posts after the close like any late event. known_date must not be a
    window expression (it is compared inside a subquery): compute it in an earlier CTE.
#}
{% macro posting_period_start(natural_start, known_date) -%}
    coalesce((
        select greatest({{ natural_start }},
            cast({{ dbt.dateadd('month', 1, "cast(close_calendar.period || '-01' as date)") }} as date))
        from {{ source('pipeline', 'close_calendar') }} as close_calendar
        where {{ known_date }} >= coalesce((select min(ledger_closes.ledger_close_date)
            from {{ source('pipeline', 'ledger_closes') }} as ledger_closes
            where ledger_closes.period = close_calendar.period), close_calendar.close_date)
        order by close_calendar.close_date desc, close_calendar.period desc
        limit 1
    ), {{ natural_start }})
{%- endmacro %}

{#
    The period ('YYYY-MM') a report shows a movement in: the period it posts in (posting_period_start of its
    date's month and the night it became known), with every period before the cut-over month reported in the
    opening period, as the ledger collapses them into the opening-balance entry.
#}
{% macro reported_period(event_date, known_date) -%}
    {%- set posted = period_of(posting_period_start(
        'cast(' ~ dbt.date_trunc('month', event_date) ~ ' as date)', known_date)) -%}
    {%- set opening = opening_period() -%}
    {%- if opening -%}
    case when {{ posted }} <= '{{ opening }}' then '{{ opening }}' else {{ posted }} end
    {%- else -%}
    {{ posted }}
    {%- endif -%}
{%- endmacro %}
