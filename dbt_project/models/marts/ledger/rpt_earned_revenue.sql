-- rpt_earned_revenue: revenue recognised per period, product and currency, in transaction and functional
-- currency (the revenue account of the journal), with the cancellation fees kept on cancelled terms of the
-- product beside it (the cancellation-fee revenue account).

select
    period,
    product_id,
    currency,
    coalesce(sum(case when account_key = 'revenue' then credit - debit end), 0) as earned_revenue,
    coalesce(sum(case when account_key = 'revenue' then functional_credit - functional_debit end), 0)
        as functional_earned_revenue,
    coalesce(sum(case when account_key = 'cancellation_fee_revenue' then credit - debit end), 0)
        as cancellation_fee_revenue,
    coalesce(sum(case when account_key = 'cancellation_fee_revenue' then functional_credit - functional_debit end), 0)
        as functional_cancellation_fee_revenue
from {{ ref('fct_journal_lines') }}
where account_key in ('revenue', 'cancellation_fee_revenue')
group by period, product_id, currency
