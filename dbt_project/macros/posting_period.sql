{#
    The first day of the period an entry posts in: its own period (natural_start, a month's first day),
    unless that period was already closed on the night the entry became known (known_date); then the first
    period open that night. The close calendar is the var period_close ({"YYYY-MM": close date}, from
    lifecycle.toml [close]); periods close in order, so the latest close on or before known_date says
    which periods were closed.
#}
{% macro posting_period_start(natural_start, known_date) -%}
    {%- set closes = var('period_close', {}) -%}
    {%- if closes -%}
    case
        {%- for period, close in closes | dictsort(by='value', reverse=true) %}
        {%- set year = period[0:4] | int %}
        {%- set month = period[5:7] | int %}
        {%- set next_start = '%04d-%02d-01' | format(year + (month // 12), (month % 12) + 1) %}
        when {{ known_date }} >= cast('{{ close }}' as date)
            then greatest({{ natural_start }}, cast('{{ next_start }}' as date))
        {%- endfor %}
        else {{ natural_start }}
    end
    {%- else -%}
    {{ natural_start }}
    {%- endif -%}
{%- endmacro %}
