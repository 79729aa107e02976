{# The accounting period (calendar month) of a date, as 'YYYY-MM'. #}
{% macro period_of(date_expr) -%}
    {{ return(adapter.dispatch('period_of', 'subscription_lifecycle')(date_expr)) }}
{%- endmacro %}

{% macro default__period_of(date_expr) -%}
    to_char({{ date_expr }}, 'YYYY-MM')
{%- endmacro %}

{% macro duckdb__period_of(date_expr) -%}
    strftime({{ date_expr }}, '%Y-%m')
{%- endmacro %}

{% macro spark__period_of(date_expr) -%}
    date_format({{ date_expr }}, 'yyyy-MM')
{%- endmacro %}
