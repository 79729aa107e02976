{#- SQL that DuckDB and PostgreSQL spell differently, behind adapter.dispatch: `duckdb__` for the embedded
    warehouse, `default__` for PostgreSQL (and any adapter that follows the standard). Every model writes the
    macro, never the dialect. -#}

{#- The value of `arg` on the row with the smallest `val` (rows where either is null are ignored). Where two rows
    share the smallest `val` the result is either's: the models make `val` unique (a tie-breaking suffix). -#}
{% macro arg_min(arg, val) -%}
    {{ return(adapter.dispatch('arg_min', 'subscription_lifecycle')(arg, val)) }}
{%- endmacro %}

{% macro duckdb__arg_min(arg, val) -%}
    arg_min({{ arg }}, {{ val }})
{%- endmacro %}

{% macro default__arg_min(arg, val) -%}
    (array_agg({{ arg }} order by {{ val }}) filter (where ({{ arg }}) is not null and ({{ val }}) is not null))[1]
{%- endmacro %}

{#- The value of `arg` on the row with the largest `val`, as arg_min. -#}
{% macro arg_max(arg, val) -%}
    {{ return(adapter.dispatch('arg_max', 'subscription_lifecycle')(arg, val)) }}
{%- endmacro %}

{% macro duckdb__arg_max(arg, val) -%}
    arg_max({{ arg }}, {{ val }})
{%- endmacro %}

{% macro default__arg_max(arg, val) -%}
    (array_agg({{ arg }} order by {{ val }} desc) filter (where ({{ arg }}) is not null and ({{ val }}) is not null))[1]
{%- endmacro %}

{#- `union all` of a relation that may lack some of `columns` (a mapping of the query's columns before it, in order,
    to their SQL types), or hold them in another order: a column the relation lacks is null. DuckDB matches by
    name itself; elsewhere each row goes through JSON (`to_jsonb` has every column the relation has, a unit
    test's fixture too), and each column is cast back to its type (exact: numbers and dates are text in it). -#}
{% macro union_all_by_name(relation, columns) -%}
    {{ return(adapter.dispatch('union_all_by_name', 'subscription_lifecycle')(relation, columns)) }}
{%- endmacro %}

{% macro duckdb__union_all_by_name(relation, columns) -%}
    union all by name
    select * from {{ relation }}
{%- endmacro %}

{% macro default__union_all_by_name(relation, columns) -%}
    union all
    select
        {%- for name, type in columns.items() %}
        cast(by_name.row_json ->> '{{ name }}' as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (select to_jsonb(named) as row_json from {{ relation }} as named) as by_name
{%- endmacro %}

{#- Beside `unnest(list)` in a select list: each element's position, 1 … the list's length, row for row. -#}
{% macro unnest_positions(list) -%}
    {{ return(adapter.dispatch('unnest_positions', 'subscription_lifecycle')(list)) }}
{%- endmacro %}

{% macro duckdb__unnest_positions(list) -%}
    unnest(generate_series(1, len({{ list }})))
{%- endmacro %}

{% macro default__unnest_positions(list) -%}
    generate_series(1, cardinality({{ list }}))
{%- endmacro %}
