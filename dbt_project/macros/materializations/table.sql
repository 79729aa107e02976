{#-
  The table materialization on DuckDB, in one statement: `create or replace table … as (…)` inside the
  model's transaction. dbt-duckdb's own builds an intermediate table, renames it over the old one and drops
  a backup, looking each name up in the relation cache first: six statements and as many macro calls per
  model, although tonight's build starts from an empty file (lifecycle.io.warehouse.reset_build), so there
  is never an old table to swap out. At 2,000 customers that bookkeeping was a third of the build.

  The result is the same table (same query, same columns, same types). What the adapter's version offers
  and this project does not use is refused rather than ignored: grants, indexes, enforced contracts,
  persisted docs and Python models. Other adapters keep their own table materialization.
-#}
{% materialization table, adapter="duckdb", supported_languages=["sql"] %}
  {%- set target_relation = this.incorporate(type="table") -%}
  {%- for unsupported in ["grants", "indexes"] if config.get(unsupported) -%}
    {{ exceptions.raise_compiler_error(model.name ~ ": `" ~ unsupported ~ "` is not supported by this project's table materialization (macros/materializations/table.sql)") }}
  {%- endfor -%}
  {%- if model.contract and model.contract.enforced -%}
    {{ exceptions.raise_compiler_error(model.name ~ ": enforced contracts are not supported by this project's table materialization") }}
  {%- endif -%}
  {%- if config.get("persist_docs") -%}
    {{ exceptions.raise_compiler_error(model.name ~ ": persist_docs is not supported by this project's table materialization") }}
  {%- endif -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% call statement("main") -%}
    create or replace table {{ target_relation }} as (
{{ compiled_code }}
    )
  {%- endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do adapter.commit() %}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({"relations": [target_relation]}) }}
{% endmaterialization %}
