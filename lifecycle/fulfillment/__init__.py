"""Fulfillment logic that is sequential, so it lives in tested Python (run as a Dagster asset,
lifecycle/assets/fulfillment.py; dbt reads its output as ``source('engine', 'continuity_shipments')``)."""
