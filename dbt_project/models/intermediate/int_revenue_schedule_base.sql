-- int_revenue_schedule_base: when each performance obligation is recognised (docs/computations.md,
-- "Revenue: earned and deferred"), before credit notes: fct_revenue_schedule splits the cancellation rows
-- of terms cancelled for nonpayment into the part a credit note takes and the part recognised at S.
--   ratable        one row per calendar month the service overlaps: whole days over [start, end),
--                  month overlaps computed directly (never one row per day)
--   delivery       one row per issue or volume delivered before the service stop, or the shipment
--   cancellation   at the service stop S of a cancelled term: the deferred remainder, recognised at S
--                  (refunds and credit notes, when they come, take their part of it first)
-- Every split is rounded cumulatively in integer cents (round the running total, take differences), so an
-- obligation's rows sum to its amount to the cent. scheduled_amount is the whole plan; recognised_amount is
-- what is earned as of the business date (the month of D month-to-date through D).

{{ revenue_schedule(ref('int_revenue_obligations')) }}
