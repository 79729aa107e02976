-- int_journal_lines: the double-entry postings of every billing and revenue event (docs/computations.md,
-- "Ledger"), one row per line, amounts signed in integer cents (debit +, credit −), in transaction and
-- functional currency.
--   invoice        Dr AR; Cr deferred revenue per invoice line (obligation); Cr tax payable (int_invoice_tax_countries)
--   payment        Cr customer credits (the excess); Dr cash clearing (per method); Cr AR per invoice paid
--   credit_use     Dr customer credits; Cr AR
--   chargeback     Dr AR (the applications it reverses); Dr customer credits (its unused credit); Cr cash
--   refund         Dr customer credits (refund of credit); Dr refunds payable (the rest); Cr cash clearing
--   credit_note    Dr deferred revenue (the unserved value, per obligation); Dr tax payable (its tax); Cr AR
--   refund decision (source refund, fct_refunds) Dr deferred revenue (the refund's net and the fee, per
--                  obligation); Dr tax payable (the refund's tax); Cr refunds payable (the refund with its tax);
--                  Cr cancellation-fee revenue (the fee). What the remainder has left is recognised at S, and
--                  in the full-refund window the revenue recognised before S is reversed, by recognition.
--   write_off      Dr bad debt expense; Cr AR (what the credit note left)
--   recognition    Dr deferred revenue; Cr revenue, per product, currency and month
--   goodwill credit (source service, a service action) Dr goodwill expense; Cr customer credits; the credit is
--                  then used like an overpayment's (credit_use)
--   manual journal (source manual, stg_manual_journals) the lines finance sent, account codes mapped back to
--                  the chart (with the deployment's overrides); functional amounts at the entry date's rate,
--                  rounded cumulatively in line order per currency, so a balanced entry balances in both
-- known_date is the night the pipeline first knew the line's cause: fct_journal_lines posts an entry known
-- after its period closed into the first open period.
-- Functional amounts: an entry's new monetary lines convert at the rate of the entry's date, rounded
-- cumulatively in line order; AR, customer credits and deferred revenue are relieved at their carrying
-- amount (their share, cumulatively, of the functional amount they were booked at). What is left posts to
-- FX gain/loss in fct_journal_lines.

with fx as (

    select currency, rate_day, rate from {{ ref('int_fx_rates_daily') }}

),

invoices as (

    select
        invoices.invoice_id,
        invoices.invoice_date,
        invoices.customer_id,
        invoices.currency,
        {{ to_cents('invoices.total_amount') }} as total_cents,
        {{ to_cents('invoices.tax_amount') }} as tax_cents,
        invoices.written_off_on,
        {{ to_cents('invoices.written_off_amount') }} as written_off_cents,
        tax_countries.tax_country,
        {{ known_date('invoices.recorded_date', 'invoices.invoice_date') }} as known_date,
        {{ rate_or_one('invoices.currency', 'fx') }} as rate
    from {{ ref('fct_invoices') }} as invoices
    left join {{ ref('int_invoice_tax_countries') }} as tax_countries on tax_countries.invoice_id = invoices.invoice_id
    left join fx on fx.currency = invoices.currency and fx.rate_day = invoices.invoice_date

),

invoice_lines as (

    select
        lines.invoice_line_id,
        lines.invoice_id,
        lines.line_number,
        lines.product_id,
        {{ to_cents('lines.net_amount') }} as net_cents,
        sum({{ to_cents('lines.net_amount') }}) over (
            partition by lines.invoice_id order by lines.line_number
            rows between unbounded preceding and current row) as cumulative_net_cents
    from {{ ref('fct_invoice_lines') }} as lines

),

ar_booked as (

    select invoice_id, {{ convert_cents('total_cents', 'rate') }} as ar_functional_cents
    from invoices

),

invoice_entries as (

    select
        'invoice:' || invoices.invoice_id as entry_id, invoices.invoice_date as entry_date, 'invoice' as source,
        invoices.invoice_id as source_id, 1 as line_number, 'accounts_receivable' as account_key,
        cast(null as varchar) as product_id, cast(null as varchar) as country,
        cast(null as varchar) as payment_method, invoices.invoice_id, cast(null as varchar) as obligation_id,
        invoices.customer_id, invoices.currency,
        invoices.total_cents as amount_cents,
        {{ convert_cents('invoices.total_cents', 'invoices.rate') }} as functional_cents,
        invoices.known_date
    from invoices

    union all

    select
        'invoice:' || invoices.invoice_id, invoices.invoice_date, 'invoice', invoices.invoice_id,
        1 + lines.line_number, 'deferred_revenue', lines.product_id, null, null, invoices.invoice_id,
        lines.invoice_line_id, invoices.customer_id, invoices.currency,
        -lines.net_cents,
        {{ convert_cents('invoices.total_cents - lines.cumulative_net_cents', 'invoices.rate') }}
            - {{ convert_cents('invoices.total_cents - lines.cumulative_net_cents + lines.net_cents', 'invoices.rate') }},
        invoices.known_date
    from invoices
    inner join invoice_lines as lines on lines.invoice_id = invoices.invoice_id

    union all

    select
        'invoice:' || invoice_id, invoice_date, 'invoice', invoice_id, 1000, 'tax_payable', null, tax_country,
        null, invoice_id, null, customer_id, currency,
        -tax_cents,
        -{{ convert_cents('tax_cents', 'rate') }},
        known_date
    from invoices
    where tax_cents <> 0

),

-- carrying amounts ---------------------------------------------------------------------------------------

applications as (

    select
        applications.application_id,
        applications.payment_id,
        applications.invoice_id,
        applications.applied_date,
        applications.application_kind,
        {{ to_cents('applications.applied_amount') }} as applied_cents
    from {{ ref('fct_payment_applications') }} as applications

),

ar_events as (

    -- what relieves (or, for a chargeback, reinstates) an invoice's receivable, in order
    select invoice_id, applied_date as event_date, 1 as event_order, application_id as event_id, applied_cents
    from applications
    union all
    select invoice_id, credit_note_date, 2, 'credit_note', {{ to_cents('total_amount') }}
    from {{ ref('fct_credit_notes') }}
    union all
    select invoice_id, written_off_on, 3, 'write_off', written_off_cents
    from invoices
    where written_off_cents <> 0

),

ar_relief as (

    select
        ar_events.*,
        {{ carrying_share('ar_booked.ar_functional_cents',
            'sum(ar_events.applied_cents) over (partition by ar_events.invoice_id order by ar_events.event_date, '
            ~ 'ar_events.event_order, ar_events.event_id rows between unbounded preceding and current row)',
            'invoices.total_cents') }} as cumulative_functional_cents
    from ar_events
    inner join ar_booked on ar_booked.invoice_id = ar_events.invoice_id
    inner join invoices on invoices.invoice_id = ar_events.invoice_id

),

ar_relief_functional as (

    select
        event_id,
        invoice_id,
        cumulative_functional_cents - coalesce(lag(cumulative_functional_cents) over (
            partition by invoice_id order by event_date, event_order, event_id), 0) as relief_functional_cents
    from ar_relief

),

payments as (

    select
        payments.payment_id,
        payments.customer_id,
        payments.currency,
        payments.paid_date,
        payments.method,
        payments.status,
        payments.original_payment_id,
        {{ to_cents('payments.amount') }} as amount_cents,
        {{ known_date('payments.recorded_date', 'payments.paid_date') }} as known_date,
        {{ rate_or_one('payments.currency', 'fx') }} as rate
    from {{ ref('stg_payments') }} as payments
    left join fx on fx.currency = payments.currency and fx.rate_day = payments.paid_date
    where payments.status in ('settled', 'refunded', 'chargeback')

),

credit_movements as (

    select
        credit_movement_id,
        payment_id,
        customer_id,
        currency,
        invoice_id,
        movement_date,
        movement_kind,
        {{ to_cents('amount') }} as amount_cents
    from {{ ref('fct_customer_credits') }}

),

goodwill as (

    select
        actions.service_action_id,
        actions.customer_id,
        actions.currency,
        actions.action_date,
        {{ to_cents('actions.amount') }} as amount_cents,
        {{ known_date('actions.recorded_date', 'actions.action_date') }} as known_date,
        {{ rate_or_one('actions.currency', 'fx') }} as rate
    from {{ ref('stg_service_actions') }} as actions
    left join fx on fx.currency = actions.currency and fx.rate_day = actions.action_date
    where actions.action_type = 'goodwill_credit'

),

credit_booked as (

    -- a credit is booked at the rate of the day it was created: the payment's, or the goodwill credit's
    select
        credit_movements.payment_id,
        sum(credit_movements.amount_cents) as excess_cents,
        {{ convert_cents('sum(credit_movements.amount_cents)', 'min(payments.rate)') }} as excess_functional_cents
    from credit_movements
    inner join payments on payments.payment_id = credit_movements.payment_id
    where credit_movements.movement_kind = 'excess'
    group by credit_movements.payment_id

    union all

    select
        goodwill.service_action_id,
        goodwill.amount_cents,
        {{ convert_cents('goodwill.amount_cents', 'goodwill.rate') }}
    from goodwill

),

credit_relief as (

    select
        credit_movements.*,
        {{ carrying_share('credit_booked.excess_functional_cents',
            'sum(-credit_movements.amount_cents) over (partition by credit_movements.payment_id order by '
            ~ 'credit_movements.movement_date, credit_movements.credit_movement_id '
            ~ 'rows between unbounded preceding and current row)',
            'credit_booked.excess_cents') }} as cumulative_functional_cents
    from credit_movements
    inner join credit_booked on credit_booked.payment_id = credit_movements.payment_id
    where credit_movements.movement_kind not in ('excess', 'goodwill')

),

credit_relief_functional as (

    select
        credit_relief.*,
        cumulative_functional_cents - coalesce(lag(cumulative_functional_cents) over (
            partition by payment_id order by movement_date, credit_movement_id), 0) as relief_functional_cents
    from credit_relief

),

-- payments, credit use, chargebacks, refunds -------------------------------------------------------------

payment_excess as (

    select payment_id, sum(amount_cents) as excess_cents
    from credit_movements
    where movement_kind = 'excess'
    group by payment_id

),

payment_entries as (

    -- new lines in order: the credit created, then the cash (cumulative rounding over the two)
    select
        'payment:' || payments.payment_id as entry_id, payments.paid_date as entry_date, 'payment' as source,
        payments.payment_id as source_id, 1 as line_number, 'customer_credits' as account_key,
        cast(null as varchar) as product_id, cast(null as varchar) as country, payments.method as payment_method,
        cast(null as varchar) as invoice_id, cast(null as varchar) as obligation_id, payments.customer_id,
        payments.currency,
        -payment_excess.excess_cents as amount_cents,
        -{{ convert_cents('payment_excess.excess_cents', 'payments.rate') }} as functional_cents,
        payments.known_date
    from payments
    inner join payment_excess on payment_excess.payment_id = payments.payment_id
    where payments.status = 'settled'

    union all

    select
        'payment:' || payments.payment_id, payments.paid_date, 'payment', payments.payment_id, 2, 'cash_clearing',
        null, null, payments.method, null, null, payments.customer_id, payments.currency,
        payments.amount_cents,
        {{ convert_cents('payments.amount_cents - coalesce(payment_excess.excess_cents, 0)', 'payments.rate') }}
            + {{ convert_cents('coalesce(payment_excess.excess_cents, 0)', 'payments.rate') }},
        payments.known_date
    from payments
    left join payment_excess on payment_excess.payment_id = payments.payment_id
    where payments.status = 'settled'

    union all

    select
        'payment:' || payments.payment_id, payments.paid_date, 'payment', payments.payment_id,
        2 + row_number() over (partition by payments.payment_id order by applications.application_id),
        'accounts_receivable', null, null, payments.method, applications.invoice_id, null, payments.customer_id,
        payments.currency,
        -applications.applied_cents,
        -relief.relief_functional_cents,
        payments.known_date
    from payments
    inner join applications
        on applications.payment_id = payments.payment_id and applications.application_kind = 'payment'
    inner join ar_relief_functional as relief on relief.event_id = applications.application_id
    where payments.status = 'settled'

),

credit_use_entries as (

    select
        'credit_use:' || credit.credit_movement_id as entry_id, credit.movement_date as entry_date,
        'credit_use' as source, credit.credit_movement_id as source_id, 1 as line_number,
        'customer_credits' as account_key, cast(null as varchar) as product_id, cast(null as varchar) as country,
        cast(null as varchar) as payment_method, credit.invoice_id, cast(null as varchar) as obligation_id,
        credit.customer_id, credit.currency,
        -credit.amount_cents as amount_cents,
        credit.relief_functional_cents as functional_cents,
        credit.movement_date as known_date
    from credit_relief_functional as credit
    where credit.movement_kind = 'applied'

    union all

    select
        'credit_use:' || credit.credit_movement_id, credit.movement_date, 'credit_use', credit.credit_movement_id, 2,
        'accounts_receivable', null, null, null, credit.invoice_id, null, credit.customer_id, credit.currency,
        applications.applied_cents * -1,
        -relief.relief_functional_cents,
        credit.movement_date
    from credit_relief_functional as credit
    inner join applications
        on applications.payment_id = credit.payment_id
        and applications.invoice_id = credit.invoice_id
        and applications.applied_date = credit.movement_date
        and applications.application_kind = 'credit'
    inner join ar_relief_functional as relief on relief.event_id = applications.application_id
    where credit.movement_kind = 'applied'

),

reversal_rows as (

    -- a chargeback or refund row and the payment it takes back
    select
        reversal.payment_id,
        reversal.original_payment_id,
        reversal.status,
        reversal.paid_date,
        reversal.method,
        reversal.customer_id,
        reversal.currency,
        reversal.amount_cents,
        reversal.known_date,
        reversal.rate,
        coalesce((
            select sum(-credit.amount_cents) from credit_movements as credit
            where credit.payment_id = reversal.original_payment_id
                and credit.movement_kind = case when reversal.status = 'chargeback' then 'chargeback' else 'refund' end
        ), 0) as credit_taken_cents
    from payments as reversal
    where reversal.status in ('chargeback', 'refunded') and reversal.original_payment_id is not null

),

reversals as (

    -- a refund beyond the unused credit is a cancellation refund, paid out of refunds payable
    select
        reversal_rows.*,
        case when status = 'refunded' and amount_cents > credit_taken_cents
            then amount_cents - credit_taken_cents else 0 end as payable_cents
    from reversal_rows

),

reversal_entries as (

    select
        case when reversals.status = 'chargeback' then 'chargeback:' else 'refund:' end || reversals.payment_id
            as entry_id,
        reversals.paid_date as entry_date,
        case when reversals.status = 'chargeback' then 'chargeback' else 'refund' end as source,
        reversals.payment_id as source_id, 1 as line_number, 'customer_credits' as account_key,
        cast(null as varchar) as product_id, cast(null as varchar) as country,
        reversals.method as payment_method, cast(null as varchar) as invoice_id,
        cast(null as varchar) as obligation_id, reversals.customer_id, reversals.currency,
        -credit.amount_cents as amount_cents,
        credit.relief_functional_cents as functional_cents,
        reversals.known_date
    from reversals
    inner join credit_relief_functional as credit
        on credit.payment_id = reversals.original_payment_id
        and credit.movement_kind = case when reversals.status = 'chargeback' then 'chargeback' else 'refund' end

    union all

    -- new lines in order: refunds payable, then the cash (cumulative rounding over the two)
    select
        'refund:' || payment_id, paid_date, 'refund', payment_id, 2, 'refunds_payable', null, null, method, null,
        null, customer_id, currency,
        payable_cents,
        {{ convert_cents('payable_cents', 'rate') }},
        known_date
    from reversals
    where payable_cents > 0

    union all

    select
        case when status = 'chargeback' then 'chargeback:' else 'refund:' end || payment_id, paid_date,
        case when status = 'chargeback' then 'chargeback' else 'refund' end, payment_id, 3, 'cash_clearing',
        null, null, method, null, null, customer_id, currency,
        -amount_cents,
        {{ convert_cents('payable_cents - amount_cents', 'rate') }} - {{ convert_cents('payable_cents', 'rate') }},
        known_date
    from reversals

    union all

    select
        'chargeback:' || reversals.payment_id, reversals.paid_date, 'chargeback', reversals.payment_id,
        3 + row_number() over (partition by reversals.payment_id order by applications.application_id),
        'accounts_receivable', null, null, reversals.method, applications.invoice_id, null, reversals.customer_id,
        reversals.currency,
        -applications.applied_cents,
        -relief.relief_functional_cents,
        reversals.known_date
    from reversals
    inner join applications
        on applications.payment_id = reversals.original_payment_id
        and applications.application_kind = 'chargeback'
    inner join ar_relief_functional as relief on relief.event_id = applications.application_id
    where reversals.status = 'chargeback'

),

write_off_entries as (

    select
        'write_off:' || invoices.invoice_id as entry_id, invoices.written_off_on as entry_date,
        'write_off' as source, invoices.invoice_id as source_id, 1 as line_number,
        '{{ var("writeoff_account") }}' as account_key, cast(null as varchar) as product_id,
        cast(null as varchar) as country, cast(null as varchar) as payment_method, invoices.invoice_id,
        cast(null as varchar) as obligation_id, invoices.customer_id, invoices.currency,
        invoices.written_off_cents as amount_cents,
        relief.relief_functional_cents as functional_cents,
        invoices.written_off_on as known_date
    from invoices
    inner join ar_relief_functional as relief
        on relief.invoice_id = invoices.invoice_id and relief.event_id = 'write_off'

    union all

    select
        'write_off:' || invoices.invoice_id, invoices.written_off_on, 'write_off', invoices.invoice_id, 2,
        'accounts_receivable', null, null, null, invoices.invoice_id, null, invoices.customer_id, invoices.currency,
        -invoices.written_off_cents,
        -relief.relief_functional_cents,
        invoices.written_off_on
    from invoices
    inner join ar_relief_functional as relief
        on relief.invoice_id = invoices.invoice_id and relief.event_id = 'write_off'

),

-- recognition ----------------------------------------------------------------------------------------------

deferred_booked as (

    select obligation_id, -functional_cents as deferred_functional_cents, -amount_cents as deferred_cents,
        known_date as invoice_known_date
    from invoice_entries
    where account_key = 'deferred_revenue'

),

recognised as (

    select
        schedule.schedule_line_id,
        schedule.obligation_id,
        schedule.product_id,
        schedule.currency,
        schedule.recognition_date,
        -- known once the invoice is known and the day has come
        greatest(schedule.recognition_date, booked.invoice_known_date) as known_date,
        schedule.line_kind,
        {{ to_cents('schedule.recognised_amount') }} as recognised_cents,
        {{ to_cents('schedule.credited_amount') }} as credited_cents,
        {{ to_cents('schedule.refunded_amount') }} as refunded_cents,
        -- every release of the deferred balance: recognised (fees and reversals included), credited, refunded
        {{ carrying_share('booked.deferred_functional_cents',
            'sum(' ~ to_cents('schedule.recognised_amount + schedule.credited_amount + schedule.refunded_amount')
            ~ ') over (partition by schedule.obligation_id '
            ~ 'order by schedule.recognition_date, schedule.schedule_line_id '
            ~ 'rows between unbounded preceding and current row)',
            'booked.deferred_cents') }} as cumulative_functional_cents
    from {{ ref('fct_revenue_schedule') }} as schedule
    inner join deferred_booked as booked on booked.obligation_id = schedule.obligation_id

),

recognised_functional as (

    select
        recognised.*,
        cast({{ dbt.date_trunc('month', 'recognition_date') }} as date) as service_period_start,
        cumulative_functional_cents - coalesce(lag(cumulative_functional_cents) over (
            partition by obligation_id order by recognition_date, schedule_line_id), 0) as released_functional_cents
    from recognised

),

recognition_by_month as (

    -- one entry per month, product and currency; what became known after its month closed posts in the
    -- first open period, as an entry of its own that names the month it belongs to
    select
        service_period_start,
        {{ posting_period_start('service_period_start', 'known_date') }} as posting_period_start,
        product_id,
        currency,
        sum(recognised_cents) as recognised_cents,
        sum(released_functional_cents) as released_functional_cents
    from recognised_functional
    where line_kind in ('ratable', 'delivery', 'cancellation', 'reversal')
        and (recognised_cents <> 0 or released_functional_cents <> 0)
    group by 1, 2, 3, 4

),

recognition_keys as (

    select
        recognition_by_month.*,
        'recognition:' || cast(posting_period_start as varchar) || ':' || currency || ':' || product_id
            || case when posting_period_start > service_period_start
                then ':late:' || cast(service_period_start as varchar) else '' end as entry_id,
        case
            when posting_period_start > service_period_start then posting_period_start
            else least(
                cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'service_period_start')) }} as date),
                {{ business_date() }})
        end as entry_date,
        cast(service_period_start as varchar) || ':' || product_id as source_id
    from recognition_by_month

),

recognition_entries as (

    select
        entry_id, entry_date, 'recognition' as source, source_id,
        1 as line_number, 'deferred_revenue' as account_key, product_id, cast(null as varchar) as country,
        cast(null as varchar) as payment_method, cast(null as varchar) as invoice_id,
        cast(null as varchar) as obligation_id, cast(null as varchar) as customer_id, currency,
        recognised_cents as amount_cents,
        released_functional_cents as functional_cents,
        entry_date as known_date
    from recognition_keys

    union all

    select
        entry_id, entry_date, 'recognition', source_id, 2, 'revenue', product_id,
        null, null, null, null, null, currency,
        -recognised_cents,
        -released_functional_cents,
        entry_date
    from recognition_keys

),

credit_note_lines as (

    select
        lines.*,
        invoices.customer_id,
        invoices.currency,
        invoices.tax_country
    from {{ ref('int_credit_note_lines') }} as lines
    inner join invoices on invoices.invoice_id = lines.invoice_id

),

tax_booked as (

    select invoice_id, -functional_cents as tax_functional_cents, -amount_cents as booked_tax_cents
    from invoice_entries
    where account_key = 'tax_payable'

),

credit_note_entries as (

    -- deferred revenue and tax payable are relieved at their carrying amount, like the AR they credit
    select
        'credit_note:' || lines.credit_note_id as entry_id, lines.credited_on as entry_date,
        'credit_note' as source, lines.credit_note_id as source_id, 1 + lines.line_number as line_number,
        'deferred_revenue' as account_key, obligations.product_id, cast(null as varchar) as country,
        cast(null as varchar) as payment_method, lines.invoice_id, lines.obligation_id, lines.customer_id,
        lines.currency,
        lines.credited_net_cents as amount_cents,
        released.released_functional_cents as functional_cents,
        lines.credited_on as known_date
    from credit_note_lines as lines
    inner join {{ ref('int_revenue_obligations') }} as obligations on obligations.obligation_id = lines.obligation_id
    inner join recognised_functional as released
        on released.obligation_id = lines.obligation_id and released.line_kind = 'credit_note'

    union all

    select
        'credit_note:' || lines.credit_note_id, min(lines.credited_on), 'credit_note', lines.credit_note_id, 1000,
        'tax_payable', null, min(lines.tax_country), null, lines.invoice_id, null, min(lines.customer_id),
        min(lines.currency),
        sum(lines.credited_tax_cents),
        min({{ carrying_share('tax_booked.tax_functional_cents', 'lines.credited_tax_total', 'tax_booked.booked_tax_cents') }}),
        min(lines.credited_on)
    from (
        select credit_note_lines.*, sum(credited_tax_cents) over (partition by invoice_id) as credited_tax_total
        from credit_note_lines
    ) as lines
    inner join tax_booked on tax_booked.invoice_id = lines.invoice_id
    group by lines.credit_note_id, lines.invoice_id
    having sum(lines.credited_tax_cents) <> 0

    union all

    select
        'credit_note:' || notes.credit_note_id, notes.credit_note_date, 'credit_note', notes.credit_note_id, 2000,
        'accounts_receivable', null, null, null, notes.invoice_id, null, notes.customer_id, notes.currency,
        -{{ to_cents('notes.total_amount') }},
        -relief.relief_functional_cents,
        notes.credit_note_date
    from {{ ref('fct_credit_notes') }} as notes
    inner join ar_relief_functional as relief
        on relief.invoice_id = notes.invoice_id and relief.event_id = 'credit_note'

),

refunds as (

    select
        refunds.*,
        invoices.tax_country,
        {{ rate_or_one('refunds.currency', 'fx') }} as rate
    from {{ ref('fct_refunds') }} as refunds
    inner join invoices on invoices.invoice_id = refunds.invoice_id
    left join fx on fx.currency = refunds.currency and fx.rate_day = refunds.decided_on
    where refunds.refund_net_cents + refunds.refund_tax_cents + refunds.fee_cents <> 0

),

refund_decision_entries as (

    -- deferred revenue and tax payable relieved at their carrying amount; refunds payable is a new monetary
    -- line at the rate of S; the fee revenue takes the fee's carrying amount; what is left is FX
    select
        'refund_decision:' || refunds.refund_id as entry_id, refunds.decided_on as entry_date, 'refund' as source,
        refunds.refund_id as source_id, 1 + lines.line_number as line_number, 'deferred_revenue' as account_key,
        obligations.product_id, cast(null as varchar) as country, cast(null as varchar) as payment_method,
        refunds.invoice_id, lines.obligation_id, refunds.customer_id, refunds.currency,
        sum(released.recognised_cents + released.refunded_cents) as amount_cents,
        sum(released.released_functional_cents) as functional_cents,
        refunds.decided_on as known_date
    from refunds
    inner join {{ ref('int_refund_lines') }} as lines on lines.refund_id = refunds.refund_id
    inner join {{ ref('int_revenue_obligations') }} as obligations on obligations.obligation_id = lines.obligation_id
    inner join recognised_functional as released
        on released.obligation_id = lines.obligation_id and released.line_kind in ('refund', 'cancellation_fee')
    group by all

    union all

    select
        'refund_decision:' || refunds.refund_id, refunds.decided_on, 'refund', refunds.refund_id, 1000,
        'tax_payable', null, refunds.tax_country, null, refunds.invoice_id, null, refunds.customer_id,
        refunds.currency,
        refunds.refund_tax_cents,
        -- cumulative after the credit note's relief of the same invoice's tax
        {{ carrying_share('tax_booked.tax_functional_cents', 'coalesce(notes.credited_tax_cents, 0) + refunds.refund_tax_cents',
            'tax_booked.booked_tax_cents') }}
            - {{ carrying_share('tax_booked.tax_functional_cents', 'coalesce(notes.credited_tax_cents, 0)',
                'tax_booked.booked_tax_cents') }},
        refunds.decided_on
    from refunds
    inner join tax_booked on tax_booked.invoice_id = refunds.invoice_id
    left join (
        select invoice_id, sum(credited_tax_cents) as credited_tax_cents
        from {{ ref('int_credit_note_lines') }}
        group by invoice_id
    ) as notes on notes.invoice_id = refunds.invoice_id
    where refunds.refund_tax_cents <> 0

    union all

    select
        'refund_decision:' || refund_id, decided_on, 'refund', refund_id, 2000, 'refunds_payable', null, null,
        null, invoice_id, null, customer_id, currency,
        -(refund_net_cents + refund_tax_cents),
        -{{ convert_cents('refund_net_cents + refund_tax_cents', 'rate') }},
        decided_on
    from refunds
    where refund_net_cents + refund_tax_cents <> 0

    union all

    select
        'refund_decision:' || refunds.refund_id, refunds.decided_on, 'refund', refunds.refund_id,
        3000 + lines.line_number, 'cancellation_fee_revenue', obligations.product_id, null, null,
        refunds.invoice_id, lines.obligation_id, refunds.customer_id, refunds.currency,
        -released.recognised_cents,
        -released.released_functional_cents,
        refunds.decided_on
    from refunds
    inner join {{ ref('int_refund_lines') }} as lines on lines.refund_id = refunds.refund_id
    inner join {{ ref('int_revenue_obligations') }} as obligations on obligations.obligation_id = lines.obligation_id
    inner join recognised_functional as released
        on released.obligation_id = lines.obligation_id and released.line_kind = 'cancellation_fee'

),

goodwill_entries as (

    -- two new monetary lines at the rate of the action's day: the expense, then the credit it creates
    select
        'goodwill:' || service_action_id as entry_id, action_date as entry_date, 'service' as source,
        service_action_id as source_id, 1 as line_number, 'goodwill_expense' as account_key,
        cast(null as varchar) as product_id, cast(null as varchar) as country, cast(null as varchar) as payment_method,
        cast(null as varchar) as invoice_id, cast(null as varchar) as obligation_id, customer_id, currency,
        amount_cents,
        {{ convert_cents('amount_cents', 'rate') }} as functional_cents,
        known_date
    from goodwill

    union all

    select
        'goodwill:' || service_action_id, action_date, 'service', service_action_id, 2, 'customer_credits',
        null, null, null, null, null, customer_id, currency,
        -amount_cents,
        -{{ convert_cents('amount_cents', 'rate') }},
        known_date
    from goodwill

),

accounts_by_code as (

    -- the chart of accounts under the deployment's codes (as ingestion checked them)
    select
        account_key,
        {{ deployment_account_code() }} as account_code
    from {{ ref('chart_of_accounts') }}

),

manual_lines as (

    select
        journals.entry_id,
        journals.entry_date,
        journals.line_number,
        accounts_by_code.account_key,
        journals.currency,
        {{ to_cents('coalesce(journals.debit, 0) - coalesce(journals.credit, 0)') }} as amount_cents,
        sum({{ to_cents('coalesce(journals.debit, 0) - coalesce(journals.credit, 0)') }}) over (
            partition by journals.entry_id, journals.currency order by journals.line_number
            rows between unbounded preceding and current row) as cumulative_cents,
        {{ known_date('journals.recorded_date', 'journals.entry_date') }} as known_date,
        {{ rate_or_one('journals.currency', 'fx') }} as rate
    from {{ ref('stg_manual_journals') }} as journals
    inner join accounts_by_code on accounts_by_code.account_code = journals.account_code
    left join fx on fx.currency = journals.currency and fx.rate_day = journals.entry_date

),

manual_entries as (

    select
        'manual:' || entry_id as entry_id, entry_date, 'manual' as source, entry_id as source_id, line_number,
        account_key, cast(null as varchar) as product_id, cast(null as varchar) as country,
        cast(null as varchar) as payment_method, cast(null as varchar) as invoice_id,
        cast(null as varchar) as obligation_id, cast(null as varchar) as customer_id, currency,
        amount_cents,
        {{ convert_cents('cumulative_cents', 'rate') }} - {{ convert_cents('cumulative_cents - amount_cents', 'rate') }}
            as functional_cents,
        known_date
    from manual_lines

),

final as (

    select * from invoice_entries
    union all
    select * from payment_entries
    union all
    select * from credit_use_entries
    union all
    select * from reversal_entries
    union all
    select * from credit_note_entries
    union all
    select * from refund_decision_entries
    union all
    select * from write_off_entries
    union all
    select * from recognition_entries
    union all
    select * from goodwill_entries
    union all
    select * from manual_entries

)

select * from final
