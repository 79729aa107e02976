{#
    The night the pipeline first knew an event: its recorded date, except for the migration load
    (recorded on the cut-over date), which the legacy system knew on the event's own date.

    The rule's one home. The staging models of the event feeds that name their event date (the contract's
    known_on) and int_invoices compute it as their known_date column; the engines read that column.
#}
{% macro known_date(recorded_date, event_date) -%}
    {%- if var('cutover_date') -%}
    case
        when {{ recorded_date }} = cast('{{ var("cutover_date") }}' as date)
            then least({{ event_date }}, {{ recorded_date }})
        else {{ recorded_date }}
    end
    {%- else -%}
    {{ recorded_date }}
    {%- endif -%}
{%- endmacro %}

{# Whether something due on a date is produced (sent), not state: nothing due before the cut-over is. #}
{% macro due_on_or_after_cutover(due_date) -%}
    {%- if var('cutover_date') -%}
    ({{ due_date }} >= cast('{{ var("cutover_date") }}' as date))
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}
