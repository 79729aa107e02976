-- Applications, customer-credit movements and collection events, as the cash engine wrote them
-- (lifecycle/assets/billing.py runs lifecycle/billing/cash.py over int_invoices, int_payments,
-- int_cancellation_decisions and the goodwill credits of stg_service_actions). Cash application is sequential
-- (a payment pays what is open when it arrives; a chargeback reopens what its payment paid). One row per
-- record; record_type application, credit or collection. Amounts in integer cents.
select * from {{ source('engine', 'cash_application') }}
