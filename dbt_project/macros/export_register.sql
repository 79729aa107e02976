{#
  The rows an export recorded in the export register (<home>/state/register/<export>/<night>.parquet, written
  by lifecycle/io/register.py) on the nights before the business date, with their night (register_night).
  The register is state the next night reads (docs/lifecycle.md, "Exports and the export register"): what
  was sent stays sent. `columns` maps each column to its SQL type; a column absent from every file (a
  register written before the column existed) is null. Before any night has recorded anything, the relation
  is empty.
#}
{% macro export_register(export, columns) -%}
    {#- the business date is read only when there is a register, which the parse cannot know: name its model -#}
    {%- do ref('warehouse_night') -%}
    {{ return(adapter.dispatch('export_register', 'subscription_lifecycle')(export, columns)) }}
{%- endmacro %}

{% macro duckdb__export_register(export, columns) -%}
    {%- set pattern = env_var('LIFECYCLE_HOME', '../var') ~ '/state/register/' ~ export ~ '/*.parquet' -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- set files = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
        {%- if files > 0 -%}
            {%- set described = run_query("select column_name from (describe select * from read_parquet('"
                ~ pattern ~ "', union_by_name = true))") -%}
            {%- for name in described.columns[0].values() -%}{%- do present.append(name) -%}{%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    {%- if present -%}
    select * from (
        select
            {%- for name, type in columns.items() %}
            {% if name in present %}cast("{{ name }}" as {{ type }}){% else %}cast(null as {{ type }}){% endif %} as {{ name }},
            {%- endfor %}
            cast(regexp_extract(filename, '(\d{4}-\d{2}-\d{2})\.parquet$', 1) as date) as register_night
        from read_parquet('{{ pattern }}', union_by_name = true, filename = true)
    ) where register_night < {{ business_date() }}
    {%- else -%}
    {{ empty_register(columns) }}
    {%- endif -%}
{%- endmacro %}

{#
  Elsewhere (a server warehouse) the pipeline loads the register into the `raw` schema, one table per export
  (`raw.register_<export>`, with its night as `register_night`); before any night has recorded anything the
  table does not exist and the relation is empty.
#}
{% macro default__export_register(export, columns) -%}
    {%- set relation = adapter.get_relation(database=target.database, schema='raw', identifier='register_' ~ export)
        if execute else none -%}
    {%- if relation is not none -%}
    select
        {%- for name, type in columns.items() %}
        cast({{ adapter.quote(name) }} as {{ sql_type(type) }}) as {{ name }},
        {%- endfor %}
        register_night
    from {{ relation }}
    where register_night < {{ business_date() }}
    {%- else -%}
    {{ empty_register(columns) }}
    {%- endif -%}
{%- endmacro %}

{# The register's relation before any night has recorded anything: its columns, no rows. #}
{% macro empty_register(columns) -%}
    select
        {%- for name, type in columns.items() %}
        cast(null as {{ sql_type(type) }}) as {{ name }},
        {%- endfor %}
        cast(null as date) as register_night
    where 1 = 0
{%- endmacro %}
