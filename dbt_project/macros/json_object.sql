{#
    A JSON object as text from (key, SQL expression) pairs, e.g.
    json_object_text([('invoice_id', 'invoices.invoice_id'), ('amount', 'cast(total as ' ~ text_type() ~ ')')]).
    Values are taken as they are (pass amounts as text to keep their exact decimals); nulls stay null.
#}
{% macro json_object_text(pairs) -%}
    {{ return(adapter.dispatch('json_object_text', 'subscription_lifecycle')(pairs)) }}
{%- endmacro %}

{#- Written out pair by pair, compact and in the given order as DuckDB's json_object writes it (Postgres's
    json_build_object puts spaces around the colons; jsonb reorders the keys): the same messages, byte for
    byte, on every warehouse. -#}
{% macro default__json_object_text(pairs) -%}
    ('{'
        {%- for key, expr in pairs %}
        || '{{ "," if not loop.first }}"{{ key }}":' || coalesce(cast(to_json({{ expr }}) as text), 'null')
        {%- endfor %}
        || '}')
{%- endmacro %}

{% macro duckdb__json_object_text(pairs) -%}
    cast(json_object(
        {%- for key, expr in pairs %}
        '{{ key }}', {{ expr }}{{ "," if not loop.last }}
        {%- endfor %}
    ) as varchar)
{%- endmacro %}

{#- Spark's to_json leaves a null field out unless told to keep it. -#}
{% macro spark__json_object_text(pairs) -%}
    to_json(named_struct(
        {%- for key, expr in pairs %}
        '{{ key }}', {{ expr }}{{ "," if not loop.last }}
        {%- endfor %}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}
