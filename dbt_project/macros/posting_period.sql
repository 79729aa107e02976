{#
    The period before the cut-over month ('YYYY-MM'), which holds the opening-balance entry, and its last
    day ('YYYY-MM-DD', the entry's date); '' without a cut-over (var cutover_date "").
#}
{% macro opening_period() -%}
    {%- set last_day = opening_date() -%}
    {{- last_day[0:7] if last_day else '' -}}
{%- endmacro %}

{% macro opening_date() -%}
    {%- set cutover = var('cutover_date') -%}
    {%- if cutover -%}
        {%- set first = modules.datetime.date.fromisoformat(cutover | string).replace(day=1) -%}
        {{- (first - modules.datetime.timedelta(days=1)).isoformat() -}}
    {%- endif -%}
{%- endmacro %}

{#
    The close calendar in force ({"YYYY-MM": close date}): the var period_close (lifecycle.toml [close]), and
    the opening period closed on the cut-over date (periods before the cut-over month are closed from the
    start). Settings.close_calendar merges the same way.
#}
{% macro close_calendar() -%}
    {%- set closes = {} -%}
    {%- for period, close in var('period_close', {}).items() -%}
        {%- do closes.update({period: close}) -%}
    {%- endfor -%}
    {%- set opening = opening_period() -%}
    {%- if opening -%}
        {%- set cutover = var('cutover_date') | string -%}
        {%- if opening not in closes or (closes[opening] | string) > cutover -%}
            {%- do closes.update({opening: cutover}) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(closes) }}
{%- endmacro %}

{#
    The first day of the period an entry posts in: its own period (natural_start, a month's first day),
    unless that period was already closed on the night the entry became known (known_date); then the first
    period open that night. The close calendar is close_calendar() (lifecycle.toml [close], and the periods
    before the cut-over month); periods close in order, so the latest close on or before known_date says
    which periods were closed. A period closes for the ledger earlier than its close date when the nights
    just before the close wrote no GL file (source pipeline.ledger_closes): what they first knew is in no
    file of the period, so it posts after the close like any late event.
#}
{% macro posting_period_start(natural_start, known_date) -%}
    {%- set closes = close_calendar() -%}
    {%- if closes -%}
    case
        {#- latest close first; on the same close date, the later period -#}
        {%- for period, close in closes.items() | sort(attribute='1,0', reverse=true) %}
        {%- set year = period[0:4] | int %}
        {%- set month = period[5:7] | int %}
        {%- set next_start = '%04d-%02d-01' | format(year + (month // 12), (month % 12) + 1) %}
        when {{ known_date }} >= coalesce((select min(ledger_close_date) from {{ source('pipeline', 'ledger_closes') }}
                where period = '{{ period }}'), cast('{{ close }}' as date))
            then greatest({{ natural_start }}, cast('{{ next_start }}' as date))
        {%- endfor %}
        else {{ natural_start }}
    end
    {%- else -%}
    {{ natural_start }}
    {%- endif -%}
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
