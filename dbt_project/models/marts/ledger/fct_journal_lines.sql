-- fct_journal_lines: every line of the double-entry journal (int_journal_lines), with the FX gain/loss line
-- that balances an entry's functional amounts, the account codes of the chart of accounts (and the
-- deployment's overrides), and debit/credit columns in transaction and functional currency. An entry known
-- after its period closed posts in the first open period (closed periods never change), keeping its
-- original date and a note saying why. Month-end FX revaluations and their reversals come from
-- int_fx_revaluation_lines. With a cut-over, every line that posts before the cut-over month is collapsed into
-- one opening-balance entry per currency (opening_balance:<period>:<currency>), dated the last day of the
-- month before the cut-over month, with one line per account, product, tax country, payment method and
-- currency: the balances the migrated history implies, in transaction and functional currency.
-- Closed periods are frozen: the periods closed both on the published night and tonight (source
-- pipeline.frozen_periods) are taken line for line, every column, from the published warehouse
-- (pipeline.frozen_journal_lines), not computed; an entry published there is not computed again elsewhere. So a
-- rerun never rewrites a closed period, and a change of settings (account codes, knobs) applies from the first
-- open period. An entry whose lines all post in such a period is left out before anything is computed
-- (entries_to_compute): a later night reads the whole journal's dates and known nights once, and computes
-- the FX lines, the posting periods and the opening balance of the open periods' entries only.

{%- set opening = opening_period() %}

with entry_known as (

    -- per entry: the night it was known (its latest line's; an FX gain/loss line is known when its entry's last line
    -- is) and the first and last dates of its lines. An aggregate of the columns it needs, joined back below: a
    -- window partitioned by entry sorted every line with all its columns (at a million customers 85 s and 10 GB
    -- spilled, against 68 s)
    select entry_id, max(known_date) as entry_known_date, min(entry_date) as first_date, max(entry_date) as last_date
    from (
        select entry_id, known_date, entry_date from {{ ref('int_journal_lines') }}
        union all
        select entry_id, known_date, entry_date from {{ ref('int_fx_revaluation_lines') }}
    ) as known
    group by entry_id

),

entry_periods as (

    -- the period an entry's lines all post in, when they all fall in one month: that month's posting period as of
    -- the night the entry was known (its FX line, dated its first line's date, posts there too)
    select entry_id, entry_known_date, case when one_month then first_lines_period end as single_period
    from (
        select
            entry_id,
            entry_known_date,
            {{ dbt.date_trunc('month', 'entry_known.first_date') }}
                = {{ dbt.date_trunc('month', 'entry_known.last_date') }} as one_month,
            {{ period_of(posting_period_start(
                'cast(' ~ dbt.date_trunc('month', 'entry_known.first_date') ~ ' as date)',
                'entry_known.entry_known_date')) }} as first_lines_period
        from entry_known
    ) as entries

),

dropped_periods as (

    -- the frozen periods whose computed lines `final` drops (it takes them as published); the lines that go into
    -- the opening balance make one entry of the opening period, dropped only when that period is frozen too
    select frozen.period
    from {{ source('pipeline', 'frozen_periods') }} as frozen
    {%- if opening %}
    cross join (
        select count(*) as frozen_count from {{ source('pipeline', 'frozen_periods') }} where period = '{{ opening }}'
    ) as opening
    where frozen.period > '{{ opening }}' or opening.frozen_count > 0
    {%- endif %}

),

entries_to_compute as (

    -- An entry all of whose lines post in a dropped period is not computed at all: its lines and its FX line would
    -- be dropped. Every other entry is computed whole, as before (its FX line sums all its lines).
    select entry_id, entry_known_date
    from entry_periods
    where entry_id is not null
        and not exists (select 1 from dropped_periods where dropped_periods.period = entry_periods.single_period)

),

postings as (

    -- each line with the night its entry was known
    select lines.*, entries_to_compute.entry_known_date from {{ ref('int_journal_lines') }} as lines
    inner join entries_to_compute on entries_to_compute.entry_id = lines.entry_id
    union all
    select lines.*, entries_to_compute.entry_known_date from {{ ref('int_fx_revaluation_lines') }} as lines
    inner join entries_to_compute on entries_to_compute.entry_id = lines.entry_id
    union all
    -- a line without an entry id is computed (it stops the night at the journal's not-null test)
    select *, cast(null as date) as entry_known_date from {{ ref('int_journal_lines') }} where entry_id is null
    union all
    select *, cast(null as date) as entry_known_date from {{ ref('int_fx_revaluation_lines') }} where entry_id is null

),

fx_lines as (

    -- what is left in functional currency once AR, credits and deferred revenue were relieved at their
    -- carrying amount and the new lines converted at the entry's rate
    select
        entry_id,
        min(entry_date) as entry_date,
        min(source) as source,
        min(source_id) as source_id,
        9999 as line_number,
        'fx_gain_loss' as account_key,
        cast(null as {{ text_type() }}) as product_id,
        cast(null as {{ text_type() }}) as country,
        cast(null as {{ text_type() }}) as payment_method,
        min(invoice_id) as invoice_id,
        cast(null as {{ text_type() }}) as obligation_id,
        min(customer_id) as customer_id,
        min(currency) as currency,
        cast(0 as bigint) as amount_cents,
        -sum(functional_cents) as functional_cents,
        max(known_date) as known_date,
        max(entry_known_date) as entry_known_date
    from postings
    group by entry_id
    having sum(functional_cents) <> 0

),

unioned as (

    select * from postings
    union all
    select * from fx_lines

),

lines as (

    -- an entry known after its period closed posts in the first period open that night, dated its first day
    select
        entries.entry_id,
        entries.entry_date,
        entries.source,
        entries.source_id,
        entries.line_number,
        entries.account_key,
        entries.product_id,
        entries.country,
        entries.payment_method,
        entries.invoice_id,
        entries.obligation_id,
        entries.customer_id,
        entries.currency,
        entries.amount_cents,
        entries.functional_cents,
        entries.known_date,
        {{ posting_period_start(
            'cast(' ~ dbt.date_trunc('month', 'entries.entry_date') ~ ' as date)',
            'entries.entry_known_date') }} as posting_period_start
    from unioned as entries

),

posted as (

    {%- if opening %}
    -- periods before the cut-over month are closed from the start and hold a single opening-balance entry
    -- per currency: one line per account, product, tax country and payment method, the sum of the lines
    -- that would have posted there
    select * from lines
    where posting_period_start > cast('{{ opening }}-01' as date)

    union all

    select
        'opening_balance:{{ opening }}:' || currency as entry_id,
        cast('{{ opening_date() }}' as date) as entry_date,
        'opening_balance' as source,
        '{{ opening }}:' || currency as source_id,
        cast(row_number() over (
            partition by currency order by account_key, product_id nulls first, country nulls first,
                payment_method nulls first) as integer) as line_number,
        account_key,
        product_id,
        country,
        payment_method,
        cast(null as {{ text_type() }}) as invoice_id,
        cast(null as {{ text_type() }}) as obligation_id,
        cast(null as {{ text_type() }}) as customer_id,
        currency,
        amount_cents,
        functional_cents,
        cast('{{ var("cutover_date") }}' as date) as known_date,
        cast('{{ opening }}-01' as date) as posting_period_start
    from (
        -- the payment method is a dimension of cash clearing only (AR lines of a payment carry it too)
        select
            account_key, product_id, country,
            case when account_key = 'cash_clearing' then payment_method end as payment_method, currency,
            sum(amount_cents) as amount_cents,
            sum(functional_cents) as functional_cents
        from lines
        where posting_period_start <= cast('{{ opening }}-01' as date)
        group by 1, 2, 3, 4, 5
        having sum(amount_cents) <> 0 or sum(functional_cents) <> 0
    ) as opening_balances
    {%- else %}
    select * from lines
    {%- endif %}

),

accounts as (

    select
        account_key,
        {{ deployment_account_code() }} as account_code,
        account_name,
        account_type
    from {{ ref('chart_of_accounts') }}

),

computed as (

    select
        lines.entry_id || ':' || cast(lines.line_number as {{ text_type() }}) as journal_line_id,
        lines.entry_id,
        lines.line_number,
        case when lines.posting_period_start > lines.entry_date then lines.posting_period_start
            else lines.entry_date end as entry_date,
        {{ period_of('greatest(lines.posting_period_start, lines.entry_date)') }} as period,
        lines.entry_date as original_date,
        case when lines.posting_period_start > lines.entry_date
            then 'recorded after period ' || {{ period_of('lines.entry_date') }} || ' closed' end as posting_note,
        lines.source,
        lines.source_id,
        lines.account_key,
        accounts.account_code,
        accounts.account_name,
        lines.product_id,
        lines.country,
        lines.payment_method,
        lines.invoice_id,
        lines.obligation_id,
        lines.customer_id,
        lines.currency,
        {{ cents_to_money('greatest(lines.amount_cents, 0)') }} as debit,
        {{ cents_to_money('greatest(-lines.amount_cents, 0)') }} as credit,
        '{{ var("functional_currency") }}' as functional_currency,
        {{ cents_to_money('greatest(lines.functional_cents, 0)') }} as functional_debit,
        {{ cents_to_money('greatest(-lines.functional_cents, 0)') }} as functional_credit
    from posted as lines
    left join accounts on accounts.account_key = lines.account_key

),

frozen as (

    select * from {{ source('pipeline', 'frozen_journal_lines') }}

),

final as (

    select *
    from computed
    where period not in (select period from {{ source('pipeline', 'frozen_periods') }})
        and entry_id not in (select entry_id from frozen)

    {{ union_all_by_name(source('pipeline', 'frozen_journal_lines'), {
        'journal_line_id': 'varchar', 'entry_id': 'varchar', 'line_number': 'bigint', 'entry_date': 'date',
        'period': 'varchar', 'original_date': 'date', 'posting_note': 'varchar', 'source': 'varchar',
        'source_id': 'varchar', 'account_key': 'varchar', 'account_code': 'varchar', 'account_name': 'varchar',
        'product_id': 'varchar', 'country': 'varchar', 'payment_method': 'varchar', 'invoice_id': 'varchar',
        'obligation_id': 'varchar', 'customer_id': 'varchar', 'currency': 'varchar', 'debit': 'decimal(18, 2)',
        'credit': 'decimal(18, 2)', 'functional_currency': 'varchar', 'functional_debit': 'decimal(18, 2)',
        'functional_credit': 'decimal(18, 2)'}) }}

)

select * from final
