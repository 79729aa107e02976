{#
    Every row satisfies `expression`, which may name `night.business_date` (the night being built:
    marts.warehouse_night); failing rows are returned.
#}
{% test expression_is_true_as_of_the_night(model, expression) %}

select model_rows.*
from {{ model }} as model_rows
cross join {{ ref('warehouse_night') }} as night
where not ({{ expression }})

{% endtest %}
