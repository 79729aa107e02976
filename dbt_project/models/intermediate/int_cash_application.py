"""int_cash_application: applications, customer-credit movements and collection events (lifecycle.billing.cash).

A dbt Python model: cash application is sequential (a payment pays what is open when it arrives;
a chargeback reopens what its payment paid), so it is a tested Python function over integer cents.
Goodwill credits (service actions) are customer credit from their day, used like an overpayment.
One row per record; record_type says which: application, credit or collection (reminders, suspension,
reinstatement, write-off, and a customer cancellation's open balance at S and credit note).
"""

from lifecycle.billing.dbt_models import cash_application


def model(dbt, session):
    dbt.config(materialized="table")
    knobs = {
        "business_date": dbt.config.meta_get("business_date"),
        "cutover_date": dbt.config.meta_get("cutover_date"),
        "billing_effort_offsets": dbt.config.meta_get("billing_effort_offsets"),
        "billing_suspension_days": dbt.config.meta_get("billing_suspension_days"),
        "nonpayment_cancel_days": dbt.config.meta_get("nonpayment_cancel_days"),
    }
    return cash_application(
        knobs,
        invoices=dbt.ref("int_invoices"),
        payments=dbt.ref("int_payments"),
        cancellations=dbt.ref("int_cancellation_decisions"),
        service_actions=dbt.ref("stg_service_actions"),
    )
