"""The billing engines as assets: the chain walk and cash application (lifecycle/billing)."""

from __future__ import annotations

from lifecycle.assets.engines import Engine, engine_assets
from lifecycle.billing.relations import (
    CASH_PARTS,
    CASH_SCHEMA,
    CHAIN_PARTS,
    CHAIN_SCHEMA,
    billing_chains,
    cash_application,
)

CHAINS = Engine(
    name="billing_chains",
    inputs=("stg_orders", "stg_offers", "stg_offer_components", "stg_products", "stg_issue_schedules",
            "stg_payments", "stg_cancellations", "stg_suspensions"),
    run=lambda settings, day, r, state: billing_chains(
        settings.engine_knobs(day), orders=r["stg_orders"], offers=r["stg_offers"],
        components=r["stg_offer_components"], products=r["stg_products"], issues=r["stg_issue_schedules"],
        payments=r["stg_payments"], cancellations=r["stg_cancellations"], holds=r["stg_suspensions"],
        batch=settings.engine_batch, state=state and state.folder, reuse=bool(state and state.reuse)),
    parts=CHAIN_PARTS,
    schema=CHAIN_SCHEMA,
    description="Every subscription chain walked once as of D: terms, autocharge attempts, upcoming-charge "
    "notices and each term's entitled issues (lifecycle/billing/terms.py).",
)

CASH = Engine(
    name="cash_application",
    inputs=("int_invoices", "int_payments", "int_cancellation_decisions", "stg_service_actions"),
    run=lambda settings, day, r, state: cash_application(
        settings.engine_knobs(day), invoices=r["int_invoices"], payments=r["int_payments"],
        cancellations=r["int_cancellation_decisions"], service_actions=r["stg_service_actions"],
        batch=settings.engine_batch, state=state and state.folder, reuse=bool(state and state.reuse)),
    parts=CASH_PARTS,
    schema=CASH_SCHEMA,
    number="record_number",
    description="Cash application as of D: applications, customer-credit movements, reminders, suspensions, "
    "reinstatements and write-offs (lifecycle/billing/cash.py).",
)

ENGINES = (CHAINS, CASH)
BILLING_ASSETS = engine_assets(ENGINES, group="billing")
