-- fct_journal_entries: one row per journal entry (deterministic id <source>:<what it posts>), with its
-- totals in transaction and functional currency; every entry balances in both.

select
    entry_id,
    min(entry_date) as entry_date,
    min(period) as period,
    min(source) as source,
    min(source_id) as source_id,
    min(currency) as currency,
    count(*) as line_count,
    sum(debit) as total_debit,
    sum(credit) as total_credit,
    sum(functional_debit) as total_functional_debit,
    sum(functional_credit) as total_functional_credit
from {{ ref('fct_journal_lines') }}
group by entry_id
