{#- SQL that DuckDB, PostgreSQL and Spark spell differently, behind adapter.dispatch: `duckdb__` for the embedded
    warehouse, `default__` for PostgreSQL (and any adapter that follows the standard), `spark__` for Spark SQL.
    Every model writes the macro, never the dialect. -#}

{#- The type of text of unbounded length: `varchar` (DuckDB, PostgreSQL); Spark wants `string` (its varchar needs
    a length, which it then enforces). -#}
{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type', 'subscription_lifecycle')()) }}
{%- endmacro %}

{% macro default__text_type() -%}
    varchar
{%- endmacro %}

{% macro spark__text_type() -%}
    string
{%- endmacro %}

{#- A column type as the project writes it (`varchar`, `bigint`, ...) in this warehouse's spelling. -#}
{% macro sql_type(type) -%}
    {{ text_type() if type == 'varchar' else type }}
{%- endmacro %}

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

{#- min_by keeps a row whose `arg` is null: its `val` is made null, which min_by ignores. -#}
{% macro spark__arg_min(arg, val) -%}
    min_by({{ arg }}, case when ({{ arg }}) is not null then {{ val }} end)
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

{% macro spark__arg_max(arg, val) -%}
    max_by({{ arg }}, case when ({{ arg }}) is not null then {{ val }} end)
{%- endmacro %}

{#- The non-null values of `expr` joined by `separator`, in the order of `order_by`. -#}
{% macro string_agg_ordered(expr, separator, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'subscription_lifecycle')(expr, separator, order_by)) }}
{%- endmacro %}

{% macro default__string_agg_ordered(expr, separator, order_by) -%}
    string_agg({{ expr }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__string_agg_ordered(expr, separator, order_by) -%}
    string_agg({{ expr }}, {{ separator }}) within group (order by {{ order_by }})
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

{#- Spark: the columns the relation has are read by name, the others are null. -#}
{% macro spark__union_all_by_name(relation, columns) -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}{%- do present.append(column.name | lower) -%}{%- endfor -%}
    {%- endif %}
    union all
    select
        {%- for name, type in columns.items() %}
        cast({{ name if name in present else 'null' }} as {{ sql_type(type) }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
{%- endmacro %}

{#- In a select list: one row per element of `list`, the element as `value` and its position (1 … the list's
    length) as `position`. Spark allows one generator per select list: one that yields both columns. -#}
{% macro unnest_with_positions(list, value, position) -%}
    {{ return(adapter.dispatch('unnest_with_positions', 'subscription_lifecycle')(list, value, position)) }}
{%- endmacro %}

{% macro duckdb__unnest_with_positions(list, value, position) -%}
    unnest({{ list }}) as {{ value }},
        unnest(generate_series(1, len({{ list }}))) as {{ position }}
{%- endmacro %}

{% macro default__unnest_with_positions(list, value, position) -%}
    unnest({{ list }}) as {{ value }},
        generate_series(1, cardinality({{ list }})) as {{ position }}
{%- endmacro %}

{% macro spark__unnest_with_positions(list, value, position) -%}
    inline(transform({{ list }}, (element, i) -> named_struct('{{ value }}', element, '{{ position }}', i + 1)))
{%- endmacro %}
