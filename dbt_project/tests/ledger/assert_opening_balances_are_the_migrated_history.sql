-- With a cut-over, the periods before the cut-over month hold only the opening-balance entry, one per currency,
-- and its lines are the balances the migrated history implies: recomputed here per account, product, tax
-- country, payment method and currency from the un-collapsed lines (int_journal_lines, the month-end
-- revaluations, and the FX gain/loss line that balances each entry in functional currency) that post before
-- the cut-over month, in transaction and functional currency (docs/computations.md, "Migration and
-- cut-over").
{{ config(tags=["finance"], meta={"dagster": {"ref": {"name": "fct_journal_lines"}}}) }}
-- the same dependencies with or without a cut-over (dbt parses with the var cutover_date blank, whatever the home's):
-- depends_on: {{ ref('int_journal_lines') }}
-- depends_on: {{ ref('int_fx_revaluation_lines') }}
-- depends_on: {{ ref('fct_journal_lines') }}
-- depends_on: {{ ref('fct_journal_entries') }}
-- depends_on: {{ source('pipeline', 'close_calendar') }}
-- depends_on: {{ source('pipeline', 'ledger_closes') }}

{%- set opening = opening_period() %}
{%- if opening %}

with uncollapsed as (

    select * from {{ ref('int_journal_lines') }}
    union all
    select * from {{ ref('int_fx_revaluation_lines') }}

),

with_fx as (

    select account_key, product_id, country, payment_method, currency, amount_cents, functional_cents,
        entry_id, entry_date, known_date
    from uncollapsed
    union all
    select 'fx_gain_loss', null, null, null, min(currency), 0, -sum(functional_cents), entry_id, min(entry_date),
        max(known_date)
    from uncollapsed
    group by entry_id
    having sum(functional_cents) <> 0

),

before_cutover as (

    select * from (
        select
            entries.*,
            {{ posting_period_start(
                'cast(' ~ dbt.date_trunc('month', 'entries.entry_date') ~ ' as date)',
                'entries.entry_known_date') }} as period_start
        from (
            -- the night the entry was known, its latest line's: an aggregate joined back (a window partitioned by
            -- entry sorts every line with all its columns)
            select with_fx.*, entry_known.entry_known_date
            from with_fx
            left join (
                select entry_id, max(known_date) as entry_known_date from uncollapsed group by entry_id
            ) as entry_known on entry_known.entry_id is not distinct from with_fx.entry_id
        ) as entries
    ) as posted
    where period_start <= cast('{{ opening }}-01' as date)

),

expected as (

    select account_key, product_id, country,
        case when account_key = 'cash_clearing' then payment_method end as payment_method, currency,
        sum(amount_cents) as amount_cents, sum(functional_cents) as functional_cents
    from before_cutover
    group by 1, 2, 3, 4, 5
    having sum(amount_cents) <> 0 or sum(functional_cents) <> 0

),

opening_lines as (

    select account_key, product_id, country, payment_method, currency,
        sum({{ to_cents('debit - credit') }}) as amount_cents,
        sum({{ to_cents('functional_debit - functional_credit') }}) as functional_cents
    from {{ ref('fct_journal_lines') }}
    where source = 'opening_balance'
    group by account_key, product_id, country, payment_method, currency

),

mismatches as (

    select
        'opening balance differs from the migrated history' as problem,
        coalesce(expected.account_key, opening_lines.account_key) as account_key,
        coalesce(expected.product_id, opening_lines.product_id) as product_id,
        coalesce(expected.currency, opening_lines.currency) as currency,
        expected.amount_cents as expected_cents,
        opening_lines.amount_cents as opening_cents,
        expected.functional_cents as expected_functional_cents,
        opening_lines.functional_cents as opening_functional_cents
    from expected
    full outer join opening_lines
        on opening_lines.account_key = expected.account_key
        and opening_lines.currency = expected.currency
        and opening_lines.product_id is not distinct from expected.product_id
        and opening_lines.country is not distinct from expected.country
        and opening_lines.payment_method is not distinct from expected.payment_method
    where expected.amount_cents is distinct from opening_lines.amount_cents
        or expected.functional_cents is distinct from opening_lines.functional_cents

),

other_entries as (

    -- before the cut-over month: nothing but one opening-balance entry per currency, in the opening period
    select
        case when source <> 'opening_balance' then 'entry posted before the cut-over month'
            else 'opening balance not alone in its currency or outside the opening period' end as problem,
        entry_id, currency, period
    from {{ ref('fct_journal_entries') }}
    where period <= '{{ opening }}'
        and (source <> 'opening_balance' or period <> '{{ opening }}'
            or entry_id <> ('opening_balance:{{ opening }}:' || currency))

)

select problem, account_key, product_id, currency, expected_cents, opening_cents, expected_functional_cents,
    opening_functional_cents
from mismatches

union all

select problem, entry_id, null, currency, null, null, null, null
from other_entries

{%- else %}

select 'no cut-over' as problem
where false

{%- endif %}
