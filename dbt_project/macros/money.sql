{#
    Exact money arithmetic. Amounts are split in integer cents, never through DOUBLE
    (in DuckDB, DECIMAL / integer returns DOUBLE). Rounding is half away from zero, as
    DuckDB's round() and Python's ROUND_HALF_UP.
#}

{# An amount as integer cents. #}
{% macro to_cents(amount) -%}
    cast(round(({{ amount }}) * 100, 0) as bigint)
{%- endmacro %}

{# Integer cents back to DECIMAL(18,2), exactly (multiplication keeps DECIMAL). #}
{% macro cents_to_money(cents) -%}
    cast(cast({{ cents }} as decimal(38, 0)) * 0.01 as decimal(18, 2))
{%- endmacro %}

{# Integer division of non-negative integers, truncating. #}
{% macro int_div(numerator, denominator) -%}
    {{ return(adapter.dispatch('int_div', 'subscription_lifecycle')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__int_div(numerator, denominator) -%}
    div({{ numerator }}, {{ denominator }})
{%- endmacro %}

{% macro duckdb__int_div(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{# A 128-bit (or wider) integer type, for products of cents and weights. #}
{% macro wide_int() -%}
    {{ return(adapter.dispatch('wide_int', 'subscription_lifecycle')()) }}
{%- endmacro %}

{% macro default__wide_int() -%}numeric(38, 0){%- endmacro %}

{% macro duckdb__wide_int() -%}hugeint{%- endmacro %}

{# numerator / denominator rounded half away from zero, for numerator >= 0 and denominator > 0. #}
{% macro div_round_half_up(numerator, denominator) -%}
    {{ int_div('2 * (' ~ numerator ~ ') + (' ~ denominator ~ ')', '2 * (' ~ denominator ~ ')') }}
{%- endmacro %}

{# amount × part ÷ whole in integer cents, half away from zero; 0 when whole is 0 (a pro-rata share: tax to
   the net it goes with). For non-negative amount and part. #}
{% macro pro_rata_cents(amount, part, whole) -%}
    case when ({{ whole }}) = 0 then 0
        else {{ div_round_half_up('cast(' ~ amount ~ ' as ' ~ wide_int() ~ ') * (' ~ part ~ ')', whole) }}
    end
{%- endmacro %}
