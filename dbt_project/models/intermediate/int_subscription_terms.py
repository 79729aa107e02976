"""int_subscription_terms: one row per subscription term, chained across renewals (lifecycle.billing.terms).

A dbt Python model: a chain is sequential (each term starts where the previous one ended, and an
autocharge answer creates the next term), so it is computed by a tested Python function rather
than recursive SQL. Its companion int_autocharge_requests holds the requests made along the way.
"""

from lifecycle.billing.dbt_models import subscription_terms


def model(dbt, session):
    dbt.config(materialized="table")
    knobs = {
        "business_date": dbt.config.meta_get("business_date"),
        "cutover_date": dbt.config.meta_get("cutover_date"),
        "autocharge_lead_days": dbt.config.meta_get("autocharge_lead_days"),
        "autocharge_retry_offsets": dbt.config.meta_get("autocharge_retry_offsets"),
    }
    return subscription_terms(
        knobs,
        orders=dbt.ref("stg_orders"),
        offers=dbt.ref("stg_offers"),
        components=dbt.ref("stg_offer_components"),
        products=dbt.ref("stg_products"),
        issues=dbt.ref("stg_issue_schedules"),
        payments=dbt.ref("stg_payments"),
        cancellations=dbt.ref("stg_cancellations"),
    )[0]
