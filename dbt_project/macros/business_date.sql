{# The business date of the night being built, as a DATE literal. #}
{% macro business_date() -%}
    cast('{{ var("business_date") }}' as date)
{%- endmacro %}
