-- int_journal_lines: the double-entry postings of every billing and revenue event (docs/computations.md,
-- "Ledger"), one row per line, amounts signed in integer cents (debit +, credit −), in transaction and
-- functional currency. One model per posting source (journal/int_journal_lines__<source>.sql), united here:
--   invoice          Dr AR; Cr deferred revenue per invoice line (obligation); Cr tax payable
--   payment          Cr customer credits (the excess); Dr cash clearing (per method); Cr AR per invoice paid
--   credit_use       Dr customer credits; Cr AR
--   chargeback       Dr AR (the applications it reverses); Dr customer credits (its unused credit); Cr cash
--   refund           Dr customer credits (refund of credit); Dr refunds payable (the rest); Cr cash clearing
--   credit_note      Dr deferred revenue (the unserved value, per obligation); Dr tax payable (its tax); Cr AR
--   refund_decision  (source refund, fct_refunds) Dr deferred revenue and tax payable; Cr refunds payable and
--                    cancellation-fee revenue
--   write_off        Dr bad debt expense; Cr AR (what the credit note left)
--   recognition      Dr deferred revenue; Cr revenue, per product, currency and month
--   goodwill         (source service, a goodwill credit) Dr goodwill expense; Cr customer credits
--   manual           (source manual, stg_manual_journals) the lines finance sent
-- known_date is the night the pipeline first knew the line's cause: fct_journal_lines posts an entry known
-- after its period closed into the first open period.
-- Functional amounts: an entry's new monetary lines convert at the rate of the entry's date, rounded
-- cumulatively in line order; AR, customer credits and deferred revenue are relieved at their carrying amount
-- (journal/int_carrying_amounts__<balance>.sql: their share, cumulatively, of the functional amount they were
-- booked at). What is left posts to FX gain/loss in fct_journal_lines.

-- Carried (macros/materializations/carried.sql): a union, so a customer's lines are written again only on a night
-- one of its sources changed for that customer; manual journals without a customer share the key null.
{{ config(materialized=('carried' if target.type == 'duckdb' else 'table'), carry_key='customer_id') }}

{%- set sources = ['invoice', 'payment', 'credit_use', 'chargeback', 'refund', 'credit_note', 'refund_decision',
    'write_off', 'recognition', 'goodwill', 'manual'] %}
{%- set columns = ['entry_id', 'entry_date', 'source', 'source_id', 'line_number', 'account_key', 'product_id',
    'country', 'payment_method', 'invoice_id', 'obligation_id', 'customer_id', 'currency', 'amount_cents',
    'functional_cents', 'known_date'] %}

{% for source in sources %}
select {{ columns | join(', ') }} from {{ ref('int_journal_lines__' ~ source) }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
