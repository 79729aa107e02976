-- rpt_deferred_revenue_rollforward: per period, product and currency, from the revenue subledger (obligations
-- and their schedules): opening + billings − recognised (fees and reversals included) − refunds and credits
-- = closing; opening is the
-- previous period's closing. A blocking test ties closing to the ledger's deferred-revenue balance.

with billings as (

    select {{ period_of('invoice_date') }} as period, product_id, currency, sum(amount) as amount
    from {{ ref('int_revenue_obligations') }}
    group by 1, 2, 3

),

recognised as (

    select {{ period_of('recognition_date') }} as period, product_id, currency, sum(recognised_amount) as amount
    from {{ ref('fct_revenue_schedule') }}
    where recognised_amount <> 0
    group by 1, 2, 3

),

credits as (

    select {{ period_of('recognition_date') }} as period, product_id, currency,
        sum(credited_amount + refunded_amount) as amount
    from {{ ref('fct_revenue_schedule') }}
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
        coalesce(billings.amount, 0) as billings,
        coalesce(recognised.amount, 0) as recognised,
        coalesce(credits.amount, 0) as refunds_and_credits
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
    closing_balance - (billings - recognised - refunds_and_credits) as opening_balance,
    billings,
    recognised,
    refunds_and_credits,
    closing_balance
from final
