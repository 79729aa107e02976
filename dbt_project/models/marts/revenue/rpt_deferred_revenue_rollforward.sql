-- rpt_deferred_revenue_rollforward: per period, product and currency, from the revenue subledger (obligations
-- and their schedules): opening + billings − recognised (fees and reversals included) − refunds and credits
-- = closing; opening is the
-- previous period's closing. Movements are reported in the ledger's posting period (an invoice known after its
-- period closed posts in the first open one, and so does its recognition). With a cut-over, every period
-- before the cut-over month is collapsed into the opening period (the month before it), which shows the
-- opening balance (opening = closing, no movements), like the ledger's opening-balance entry.
-- A blocking test ties closing to the ledger's deferred-revenue balance.

{%- set opening = opening_period() %}



with invoices_known as (

    select invoice_id, {{ known_date('recorded_date', 'invoice_date') }} as known_date
    from {{ ref('fct_invoices') }}

),

billings as (

    select
        {{ reported_period('obligations.invoice_date', 'invoices_known.known_date') }} as period,
        obligations.product_id, obligations.currency, sum(obligations.amount) as amount
    from {{ ref('int_revenue_obligations') }} as obligations
    inner join invoices_known on invoices_known.invoice_id = obligations.invoice_id
    group by 1, 2, 3

),

schedule as (

    -- known once the invoice is known and the day has come (as the ledger's recognition)
    select
        {{ reported_period('schedule.recognition_date',
            'greatest(schedule.recognition_date, invoices_known.known_date)') }} as period,
        schedule.product_id,
        schedule.currency,
        schedule.recognised_amount,
        schedule.credited_amount,
        schedule.refunded_amount
    from {{ ref('fct_revenue_schedule') }} as schedule
    inner join {{ ref('int_revenue_obligations') }} as obligations on obligations.obligation_id = schedule.obligation_id
    inner join invoices_known on invoices_known.invoice_id = obligations.invoice_id

),

recognised as (

    select period, product_id, currency, sum(recognised_amount) as amount
    from schedule
    where recognised_amount <> 0
    group by 1, 2, 3

),

credits as (

    select period, product_id, currency, sum(credited_amount + refunded_amount) as amount
    from schedule
    where credited_amount <> 0 or refunded_amount <> 0
    group by 1, 2, 3

),

keys as (

    select period, product_id, currency from billings
    union
    select period, product_id, currency from recognised
    union
    select period, product_id, currency from credits

),

periods as (

    select distinct period from keys

),

products as (

    select product_id, currency, min(period) as first_period from keys group by product_id, currency

),

grid as (

    select periods.period, products.product_id, products.currency
    from periods
    inner join products on periods.period >= products.first_period

),

movements as (

    select
        grid.period,
        grid.product_id,
        grid.currency,
        -- a money column on every warehouse (Postgres would type a bare 0 as a number without cents)
        cast(coalesce(billings.amount, 0) as decimal(38, 2)) as billings,
        cast(coalesce(recognised.amount, 0) as decimal(38, 2)) as recognised,
        cast(coalesce(credits.amount, 0) as decimal(38, 2)) as refunds_and_credits
    from grid
    left join billings
        on billings.period = grid.period and billings.product_id = grid.product_id
        and billings.currency = grid.currency
    left join recognised
        on recognised.period = grid.period and recognised.product_id = grid.product_id
        and recognised.currency = grid.currency
    left join credits
        on credits.period = grid.period and credits.product_id = grid.product_id
        and credits.currency = grid.currency

),

final as (

    select
        movements.*,
        sum(billings - recognised - refunds_and_credits) over (
            partition by product_id, currency order by period
            rows between unbounded preceding and current row) as closing_balance
    from movements

)

select
    period,
    product_id,
    currency,
    {%- if opening %}
    case when period = '{{ opening }}' then closing_balance
        else closing_balance - (billings - recognised - refunds_and_credits) end as opening_balance,
    case when period = '{{ opening }}' then cast(0 as decimal(38, 2)) else billings end as billings,
    case when period = '{{ opening }}' then cast(0 as decimal(38, 2)) else recognised end as recognised,
    case when period = '{{ opening }}' then cast(0 as decimal(38, 2)) else refunds_and_credits end as refunds_and_credits,
    {%- else %}
    closing_balance - (billings - recognised - refunds_and_credits) as opening_balance,
    billings,
    recognised,
    refunds_and_credits,
    {%- endif %}
    closing_balance
from final
