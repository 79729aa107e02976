"""Fulfillment logic that is sequential, so it lives in tested Python (run by dbt Python models)."""
