"""The billing engine: the path-dependent parts of billing, run as Dagster assets between dbt steps.

Subscription chains (``terms``) and cash application (``cash``) are sequential: each term starts
where the previous one ended, an autocharge answer creates the next term, a payment pays what is
open when it arrives and a chargeback reopens what its payment paid. They are written here as
plain, tested Python functions over integer cents; ``relations`` reads their inputs from the night's
build and returns their outputs as Arrow, and lifecycle/assets/billing.py runs them each night
(dbt then reads the results as ``source('engine', ...)``: ``int_billing_chains``, ``int_cash_application``).
"""
