"""The billing engine: the path-dependent parts of billing, run by dbt Python models.

Subscription chains (``terms``) and cash application (``cash``) are sequential: each term starts
where the previous one ended, an autocharge answer creates the next term, a payment pays what is
open when it arrives and a chargeback reopens what its payment paid. They are written here as
plain, tested Python functions over integer cents, and the dbt models
``int_subscription_terms`` and ``int_cash_application`` run them inside the nightly dbt build.
"""
