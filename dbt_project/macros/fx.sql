{# Integer cents converted at a rate (functional units per transaction unit), half away from zero. #}
{% macro convert_cents(cents, rate) -%}
    cast(round(cast({{ cents }} as decimal(38, 0)) * ({{ rate }}), 0) as bigint)
{%- endmacro %}

{# The rate of a currency on a date: 1 for the functional currency, else int_fx_rates_daily (joined as `alias`). #}
{% macro rate_or_one(currency, alias) -%}
    case when {{ currency }} = '{{ var("functional_currency") }}' then cast(1 as decimal(18, 8)) else {{ alias }}.rate end
{%- endmacro %}

{# Part of a carrying amount in proportion: round(total_functional × cumulative / total), signs kept. #}
{% macro carrying_share(total_functional, cumulative, total) -%}
    case
        when {{ total }} = 0 then 0
        when {{ total_functional }} >= 0 then
            {{ div_round_half_up('cast(' ~ total_functional ~ ' as ' ~ wide_int() ~ ') * (' ~ cumulative ~ ')', total) }}
        else
            -{{ div_round_half_up('cast(-(' ~ total_functional ~ ') as ' ~ wide_int() ~ ') * (' ~ cumulative ~ ')', total) }}
    end
{%- endmacro %}
