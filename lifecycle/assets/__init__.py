"""Dagster assets by lifecycle phase: ingestion, the dbt warehouse, publication."""

import warnings

# backfill_policy is marked beta; we rely only on its stable meaning (one partition per run).
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")
