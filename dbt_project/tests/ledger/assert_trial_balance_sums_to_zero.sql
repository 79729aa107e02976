-- The trial balance sums to zero per period: per transaction currency, and in functional currency.
{{ config(tags=["finance"], meta={"dagster": {"ref": {"name": "rpt_trial_balance"}}}) }}

select period, currency, sum(closing_balance) as off_by
from {{ ref('rpt_trial_balance') }}
group by period, currency
having sum(closing_balance) <> 0

union all

select period, '(functional)', sum(closing_functional_balance)
from {{ ref('rpt_trial_balance') }}
group by period
having sum(closing_functional_balance) <> 0
