-- rpt_earned_revenue: revenue recognised per period, product and currency, in transaction and functional
-- currency (the revenue account of the journal).

select
    period,
    product_id,
    currency,
    sum(credit) - sum(debit) as earned_revenue,
    sum(functional_credit) - sum(functional_debit) as functional_earned_revenue
from {{ ref('fct_journal_lines') }}
where account_key = 'revenue'
group by period, product_id, currency
