{#- What a ratable obligation earned over [start, through), in integer cents: the cents earned before its
    segment (0 for a term whose end never moved) plus the rest of the amount spread over the segment's days,
    rounded half away from zero. `earned_before`, `segment_from` and `segment_end` are one segment of
    int_ratable_segments, or 0, the service start and the service end for a term with one end. -#}
{% macro ratable_earned_cents(amount_cents, earned_before, segment_from, segment_end, through) -%}
    ({{ earned_before }} + {{ div_round_half_up(
        'cast(' ~ amount_cents ~ ' - ' ~ earned_before ~ ' as ' ~ wide_int() ~ ') * '
        ~ dbt.datediff(segment_from, through, 'day'),
        dbt.datediff(segment_from, segment_end, 'day')) }})
{%- endmacro %}

{#- The deferred remainder of a performance obligation at its service stop S, in integer cents: its amount less
    what it earned before S. Ratable: ratable_earned_cents through S, in the segment `segment` of
    int_ratable_segments holding S (left joined: null for a term whose end never moved); by delivery:
    `delivered_cents`, what the deliveries before S earned together (their cumulative_cents,
    int_obligation_deliveries). `obligation` names a relation with int_invoice_obligations' columns and a
    service_stop. Used by int_revenue_schedule_base (the cancellation rows) and int_cancellation_decisions (the
    unserved value cash application credits, needed before the schedule can be built). -#}
{% macro deferred_remainder_cents(obligation, delivered_cents, segment) -%}
    {{ obligation }}.amount_cents - case
        when {{ obligation }}.revenue_method = 'ratable_daily' then coalesce(
            {{ ratable_earned_cents(
                obligation ~ '.amount_cents',
                'coalesce(' ~ segment ~ '.earned_before_cents, 0)',
                'coalesce(' ~ segment ~ '.segment_from, ' ~ obligation ~ '.service_start)',
                'coalesce(' ~ segment ~ '.segment_end, ' ~ obligation ~ '.service_end)',
                obligation ~ '.service_stop') }}, 0)
        else coalesce({{ delivered_cents }}, 0)
    end
{%- endmacro %}

{#- The join condition picking the segment of int_ratable_segments `segment` that holds the day before
    `through`: segments hold (segment_from, segment_to]; the first one also holds its start and anything before
    it (a term stopped on its first day). -#}
{% macro ratable_segment_holds(segment, through) -%}
    ({{ segment }}.segment_from < {{ through }} or {{ segment }}.segment_number = 0)
    and ({{ segment }}.segment_to is null or {{ through }} <= {{ segment }}.segment_to)
{%- endmacro %}
