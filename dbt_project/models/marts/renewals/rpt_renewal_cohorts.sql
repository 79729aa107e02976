-- rpt_renewal_cohorts: renewal cohorts (docs/computations.md, "Renewal outcomes and cohorts") by product,
-- month of term end, renewal type (auto: autorenew terms; notice: renewed by notice) and first renewal vs
-- later, per currency, from fct_renewal_outcomes: expiring = renewed + lapsed + pending, the rate renewed ÷
-- (renewed + lapsed), the renewals by the effort that converted them, and the revenue they retained.

with converted as (

    select * from {{ ref('fct_renewal_outcomes') }}

),

cohorts as (

    select
        product_id,
        cohort_month,
        renewal_type,
        renewal_number,
        currency,
        count(*) as expiring,
        count(case when outcome = 'renewed' then 1 end) as renewed,
        count(case when outcome = 'lapsed' then 1 end) as lapsed,
        count(case when outcome = 'pending' then 1 end) as pending,
        coalesce(sum(renewal_net_amount), 0) as revenue_retained
    from converted
    group by product_id, cohort_month, renewal_type, renewal_number, currency

),

efforts as (

    select product_id, cohort_month, renewal_type, renewal_number, currency,
        {{ string_agg_ordered("converted_by || ': ' || cast(renewals as " ~ text_type() ~ ")", "'; '", 'converted_by') }} as converted_by
    from (
        select product_id, cohort_month, renewal_type, renewal_number, currency, converted_by, count(*) as renewals
        from converted
        where converted_by is not null
        group by product_id, cohort_month, renewal_type, renewal_number, currency, converted_by
    ) as by_effort
    group by product_id, cohort_month, renewal_type, renewal_number, currency

)

select
    cohorts.*,
    -- renewed ÷ decided (renewed + lapsed), in exact decimal (4 places)
    case when renewed + lapsed = 0 then null
        else cast({{ div_round_half_up('cast(renewed as bigint) * 10000', 'renewed + lapsed') }} as decimal(18, 0))
            * 0.0001
    end as renewal_rate,
    pending > 0 as is_pending,
    efforts.converted_by
from cohorts
left join efforts
    on efforts.product_id = cohorts.product_id
    and efforts.cohort_month = cohorts.cohort_month
    and efforts.renewal_type = cohorts.renewal_type
    and efforts.renewal_number = cohorts.renewal_number
    and efforts.currency = cohorts.currency
