-- Every subscription chain walked once, as the billing engine wrote it (lifecycle/assets/billing.py runs
-- lifecycle/billing/terms.py over the night's staging models). A chain is sequential (each term starts where
-- the previous one ended; an autocharge answer or an autobill creates the next term), so it is a tested
-- Python function, not recursive SQL. One row per record: record_type term, request, notice, issue or window.
select * from {{ source('engine', 'billing_chains') }}
