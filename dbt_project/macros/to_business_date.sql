{# The calendar date of a timestamp in the business time zone (settings: business.timezone). #}
{% macro to_business_date(column) -%}
    {{ return(adapter.dispatch('to_business_date', 'subscription_lifecycle')(column)) }}
{%- endmacro %}

{% macro default__to_business_date(column) -%}
    cast({{ column }} at time zone '{{ var("business_timezone") }}' as date)
{%- endmacro %}

{% macro duckdb__to_business_date(column) -%}
    cast(timezone('{{ var("business_timezone") }}', {{ column }}) as date)
{%- endmacro %}

{% macro spark__to_business_date(column) -%}
    to_date(from_utc_timestamp({{ column }}, '{{ var("business_timezone") }}'))
{%- endmacro %}
