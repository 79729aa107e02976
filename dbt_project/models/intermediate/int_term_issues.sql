-- int_term_issues: the issues each issue term is entitled to, in ship-date order (issue_number 1..N),
-- from the chain walk (the 'issue' records of int_billing_chains).

select
    subscription_id,
    term_number,
    issue_number,
    issue_id,
    ship_date
from {{ ref('int_billing_chains') }}
where record_type = 'issue'
