"""int_billing_chains: every subscription chain walked once (lifecycle.billing.terms).

A dbt Python model: a chain is sequential (each term starts where the previous one ended, and an
autocharge answer or an autobill creates the next term), so it is computed by a tested Python
function rather than recursive SQL. One row per record: record_type 'term' (see
int_subscription_terms) or 'request' (an autocharge attempt, see int_autocharge_requests).
"""

from lifecycle.billing.dbt_models import billing_chains


def model(dbt, session):
    dbt.config(materialized="table")
    knobs = {
        "business_date": dbt.config.meta_get("business_date"),
        "business_timezone": dbt.config.meta_get("business_timezone"),
        "cutover_date": dbt.config.meta_get("cutover_date"),
        "autocharge_lead_days": dbt.config.meta_get("autocharge_lead_days"),
        "autocharge_retry_offsets": dbt.config.meta_get("autocharge_retry_offsets"),
        "upcoming_autocharge_days": dbt.config.meta_get("upcoming_autocharge_days"),
        "renewal_grace_issues": dbt.config.meta_get("renewal_grace_issues"),
    }
    return billing_chains(
        knobs,
        orders=dbt.ref("stg_orders"),
        offers=dbt.ref("stg_offers"),
        components=dbt.ref("stg_offer_components"),
        products=dbt.ref("stg_products"),
        issues=dbt.ref("stg_issue_schedules"),
        payments=dbt.ref("stg_payments"),
        cancellations=dbt.ref("stg_cancellations"),
        holds=dbt.ref("stg_suspensions"),
    )
