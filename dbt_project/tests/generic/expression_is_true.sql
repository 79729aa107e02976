{#
    Every row satisfies `expression` (a SQL boolean over the model's columns); failing rows are returned.
    Our own small version of dbt_utils.expression_is_true (Hub packages are not installed here).
#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
