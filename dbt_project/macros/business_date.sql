{# The business date of the night being built, as a DATE: the one row of marts.warehouse_night (which reads the
   pipeline's night source), as a scalar subquery, so the date never enters dbt's parse. Unit tests give it as
   an input row of ref('warehouse_night'). #}
{% macro business_date() -%}
    (select business_date from {{ ref('warehouse_night') }})
{%- endmacro %}
