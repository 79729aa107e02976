{#-
  Layers get their own schema named plainly (staging, intermediate, marts), not <target>_<layer>.
  A build that must not touch the published schemas (the night's build on PostgreSQL, swapped in only once
  its tests pass: lifecycle/io/postgres.py) passes the var build_schema_suffix, e.g. "__build": marts__build.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{{ var("build_schema_suffix", "") }}{%- endif -%}
{%- endmacro %}
