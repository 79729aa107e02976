-- rpt_ar_aging: open receivables as of the business date by days past due (0–30, 31–60, 61–90, 90+; an invoice
-- not yet due is 0 days past due), per currency. The total ties to the AR account of the ledger.

with open_invoices as (

    select
        currency,
        balance_due,
        greatest(0, {{ dbt.datediff('due_date', business_date(), 'day') }}) as days_past_due
    from {{ ref('fct_invoices') }}
    where balance_due > 0

)

select
    currency,
    case
        when days_past_due <= 30 then '0-30'
        when days_past_due <= 60 then '31-60'
        when days_past_due <= 90 then '61-90'
        else '90+'
    end as aging_bucket,
    count(*) as invoices,
    sum(balance_due) as balance_due
from open_invoices
group by 1, 2
