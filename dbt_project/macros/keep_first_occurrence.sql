{#
    Rows of a CTE whose key was not seen earlier (by recorded_date, then source_line).
    Ingestion already quarantines repeated event ids; this keeps a staging model's key unique
    whatever arrives, in portable SQL (no QUALIFY, no SELECT * EXCLUDE).
#}
{% macro keep_first_occurrence(cte, key) -%}
    {%- set keys = [key] if key is string else key %}
    select this.*
    from {{ cte }} as this
    where not exists (
        select 1
        from {{ cte }} as earlier
        where {% for k in keys %}earlier.{{ k }} = this.{{ k }} and {% endfor %}(
                earlier.recorded_date < this.recorded_date
                or (earlier.recorded_date = this.recorded_date and earlier.source_line < this.source_line)
            )
    )
{%- endmacro %}
