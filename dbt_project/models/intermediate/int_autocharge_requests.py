"""int_autocharge_requests: every autocharge attempt requested so far (lifecycle.billing.terms).

Computed by the same chain walk as int_subscription_terms (the requests decide which terms exist),
so the two models share one function; each returns its half.
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
    )[1]
