-- int_grace_issues: the issues a print term may receive in grace, the one rule dim_subscriptions (the grace
-- status) and fct_manifest_lines (graced copies) both read. Issues of a publication are numbered by ship date
-- (then issue id); for every issue term with an end date, the issues shipping on or after its end are numbered
-- from 1 (grace_number). The first renewal_grace_issues of them are its grace issues (in_grace): an expired
-- term whose renewal is pending keeps receiving them. The next one (the only row with in_grace false) ends the
-- grace: the term is in grace until that issue ships. Later issues are not listed.

with issues as (

    select
        product_id,
        issue_id,
        ship_date,
        row_number() over (partition by product_id order by ship_date, issue_id) as issue_seq
    from {{ ref('stg_issue_schedules') }}
    where is_current

),

after_end as (

    select
        terms.subscription_id,
        terms.term_number,
        issues.issue_seq - min(issues.issue_seq) over (
            partition by terms.subscription_id, terms.term_number) + 1 as grace_number,
        issues.product_id,
        issues.issue_id,
        issues.ship_date
    from {{ ref('int_subscription_terms') }} as terms
    inner join issues
        on issues.product_id = terms.schedule_product_id and issues.ship_date >= terms.end_date
    where terms.term_unit = 'issues'

)

select
    subscription_id,
    term_number,
    grace_number,
    product_id,
    issue_id,
    ship_date,
    grace_number <= {{ var('renewal_grace_issues') }} as in_grace
from after_end
where grace_number <= {{ var('renewal_grace_issues') }} + 1
