-- int_journal_lines__credit_use: a customer credit (an overpayment's or a goodwill credit's) paying an invoice,
-- one entry per credit movement applied (credit_use:<credit_movement_id>): Dr customer credits (line 1) at the
-- credit's carrying amount (int_carrying_amounts__customer_credits); Cr AR (line 2) at the receivable's
-- (int_carrying_amounts__receivables). What the two differ by posts to FX gain/loss in fct_journal_lines.

with credit as (

    select * from {{ ref('int_carrying_amounts__customer_credits') }}
    where movement_kind = 'applied'

),

applications as (

    select
        application_id,
        payment_id,
        invoice_id,
        applied_date,
        application_kind,
        {{ to_cents('applied_amount') }} as applied_cents
    from {{ ref('fct_payment_applications') }}

),

credit_use_entries as (

    select
        'credit_use:' || credit.credit_movement_id as entry_id, credit.movement_date as entry_date,
        'credit_use' as source, credit.credit_movement_id as source_id, 1 as line_number,
        'customer_credits' as account_key, cast(null as {{ text_type() }}) as product_id, cast(null as {{ text_type() }}) as country,
        cast(null as {{ text_type() }}) as payment_method, credit.invoice_id, cast(null as {{ text_type() }}) as obligation_id,
        credit.customer_id, credit.currency,
        -credit.amount_cents as amount_cents,
        credit.relief_functional_cents as functional_cents,
        credit.movement_date as known_date
    from credit

    union all

    select
        'credit_use:' || credit.credit_movement_id, credit.movement_date, 'credit_use', credit.credit_movement_id, 2,
        'accounts_receivable', null, null, null, credit.invoice_id, null, credit.customer_id, credit.currency,
        applications.applied_cents * -1,
        -relief.relief_functional_cents,
        credit.movement_date
    from credit
    inner join applications
        on applications.payment_id = credit.payment_id
        and applications.invoice_id = credit.invoice_id
        and applications.applied_date = credit.movement_date
        and applications.application_kind = 'credit'
    inner join {{ ref('int_carrying_amounts__receivables') }} as relief on relief.event_id = applications.application_id

)

select * from credit_use_entries
