{#
  The GL code of an account under the deployment's codes: lifecycle.toml [ledger] account_codes
  (dbt var account_code_overrides, {account_key: code}) replaces the chart of accounts' default code.
#}
{% macro deployment_account_code(key_column='account_key', code_column='account_code') -%}
    {%- set overrides = var('account_code_overrides', {}) -%}
    {%- if overrides -%}
    case {{ key_column }}
        {%- for key, code in overrides.items() %}
        when '{{ key }}' then '{{ code }}'
        {%- endfor %}
        else {{ code_column }}
    end
    {%- else -%}
    {{ code_column }}
    {%- endif -%}
{%- endmacro %}
