{#- The deferred remainder of a performance obligation at its service stop S, in integer cents: its amount less
    what it earned before S. Ratable: the whole days served over the days of the term, rounded half away from
    zero; by delivery: `delivered_cents`, what the deliveries before S earned together (their cumulative_cents,
    int_obligation_deliveries). `obligation` names a relation with int_invoice_obligations' columns and a
    service_stop. Used by int_revenue_schedule_base (the cancellation rows) and int_cancellation_decisions (the
    unserved value cash application credits, needed before the schedule can be built). -#}
{% macro deferred_remainder_cents(obligation, delivered_cents) -%}
    {{ obligation }}.amount_cents - case
        when {{ obligation }}.revenue_method = 'ratable_daily' then coalesce(
            {{ div_round_half_up(
                'cast(' ~ obligation ~ '.amount_cents as ' ~ wide_int() ~ ') * '
                ~ dbt.datediff(obligation ~ '.service_start', obligation ~ '.service_stop', 'day'),
                dbt.datediff(obligation ~ '.service_start', obligation ~ '.service_end', 'day')) }}, 0)
        else coalesce({{ delivered_cents }}, 0)
    end
{%- endmacro %}
