-- Refunds payable per currency = the refunds decided and not yet answered by the processor
-- (docs/invariants.md, "Finance: revenue and ledger": refunds payable returns to zero once the processor has
-- answered every refund request): the ledger's credit balance on refunds payable = sum(requested_amount) −
-- sum(answered_amount) of fct_refund_answers, every decision and every answer included (an unrequested answer
-- or a different amount is a warning there; here it still has to tie). Returns one row per currency that does
-- not tie.
{{ config(tags=["finance"], meta={"dagster": {"ref": {"name": "fct_journal_lines"}}}) }}

with ledger as (

    select currency, sum(credit) - sum(debit) as balance
    from {{ ref('fct_journal_lines') }}
    where account_key = 'refunds_payable'
    group by currency

),

unanswered as (

    select currency, sum(requested_amount) - sum(answered_amount) as balance,
        sum(case when answer_status = 'open' then open_amount else 0 end) as open_requests
    from {{ ref('fct_refund_answers') }}
    group by currency

)

select
    coalesce(ledger.currency, unanswered.currency) as currency,
    coalesce(ledger.balance, 0) as ledger_refunds_payable,
    coalesce(unanswered.balance, 0) as requested_minus_answered,
    coalesce(unanswered.open_requests, 0) as open_requests
from ledger
full outer join unanswered on unanswered.currency = ledger.currency
where coalesce(ledger.balance, 0) <> coalesce(unanswered.balance, 0)
