-- dim_subscriptions: one row per subscription term, chained across renewals, with its status as of the
-- business date (docs/computations.md, "Subscriptions and terms"):
--   cancelled             service ended by a cancellation (S = later of effective and recorded dates)
--                         or by nonpayment (the invoice was written off)
--   pending               starts later
--   suspended_nonpayment  the invoice is past its last reminder + suspension days and still unpaid
--   on_hold               a vacation hold covers the date (print deliveries paused)
--   active                in term
--   grace                 ended, renewal pending: print terms until renewal_grace_issues more issues have
--                         shipped; autocharge terms while an attempt is outstanding, for
--                         autocharge_access_grace_days
--   expired               ended and not renewed (or renewed: the chain continues in the next term)

-- The terms with what decides their status come from int_subscription_term_details (carried by subscription);
-- here the night adds what its date decides: the vacation holds covering it and the status.

with details as (

    select * from {{ ref('int_subscription_term_details') }}

),

holds as (

    select distinct subscription_id
    from {{ ref('stg_suspensions') }}
    where hold_from <= {{ business_date() }} and {{ business_date() }} < hold_to

),

joined as (

    select
        details.*,
        holds.subscription_id is not null as on_hold_today
    from details
    left join holds on holds.subscription_id = details.subscription_id

),

final as (

    select
        subscription_id || ':' || cast(term_number as {{ text_type() }}) as subscription_term_id,
        subscription_id,
        term_number,
        term_number as tenure,
        order_id,
        term_source,
        customer_id,
        order_type,
        offer_id,
        term_unit,
        term_length,
        start_date,
        end_date,
        anchor_date,
        issue_ids,
        issue_count,
        schedule_product_id,
        quantity,
        currency,
        case
            when renewal_offer_id is null or cancelled_at_term_end or service_end is not null then 'do_not_renew'
            when autorenew and payment_method_token is not null then 'autorenew_autocharge'
            when autorenew then 'autorenew'
            else 'renew_by_notice'
        end as renewal_flag,
        renewal_offer_id,
        autocharge_outcome,
        invoice_id,
        case invoice_status
            when 'partially_paid' then 'partially_paid'
            when 'open' then 'unpaid'
            else invoice_status
        end as billing_status,
        balance_due,
        case
            when service_end is not null and service_end <= {{ business_date() }} then 'cancelled'
            when written_off_on is not null then 'cancelled'
            when {{ business_date() }} < start_date then 'pending'
            when suspended_on is not null and reinstated_on is null
                and (end_date is null or {{ business_date() }} < end_date) then 'suspended_nonpayment'
            when end_date is null or {{ business_date() }} < end_date then
                case when on_hold_today and term_unit = 'issues' then 'on_hold' else 'active' end
            when next_term_start is not null then 'expired'
            when cancelled_at_term_end or renewal_offer_id is null then 'expired'
            when term_unit = 'issues' and grace_end is not null and {{ business_date() }} < grace_end then 'grace'
            when autocharge_outcome = 'pending'
                and {{ business_date() }} < {{ dbt.dateadd('day', var('autocharge_access_grace_days'), 'end_date') }}
                then 'grace'
            else 'expired'
        end as status,
        case
            when service_end is not null then service_end
            when written_off_on is not null then written_off_on
        end as cancelled_on,
        case
            when service_end is not null then cancellation_reason
            when written_off_on is not null then 'nonpayment'
        end as cancellation_reason,
        suspended_on,
        next_term_start is not null as is_renewed,
        ordered_date,
        recorded_date
    from joined

)

select * from final
