-- fct_save_offers: save-desk candidates for customer service to call (docs/computations.md, "Save
-- desk"), as of D.
--   cancellation_price     a cancellation (or do-not-renew) asked for price reasons, known but not yet
--                          effective (S, or the term's end, after D): a lower-priced offer of the same product
--   cancellation_content   the same for content reasons: the same publication in the other format (print ↔
--                          digital), or a cheaper membership tier
--   autocharge_failed      a subscriber of a year or more whose autocharge failed for good, while the renewal
--                          is still open (before term end + the last notice offset): a lower-priced offer of
--                          the same product, else the renewal offer again (a call to update the card)
-- The proposal is an offer on sale tonight, in the term's currency, for the customer's segment (or any): the
-- dearest one below what the term cost (a small step down keeps the most revenue); for the other format,
-- the cheapest. Prices compare per unit of service (month, issue, shipment), not per term. status open while the call can still change the outcome, closed once S or the window passed.

with terms as (

    select * from {{ ref('int_subscription_terms') }}

),

catalogue as (

    -- every current offer with its main product (first component) and that product's kind
    select
        offers.offer_id,
        offers.price,
        offers.currency,
        offers.term_unit,
        offers.term_length,
        offers.segment,
        offers.available_from <= {{ business_date() }}
            and (offers.available_to is null or {{ business_date() }} < offers.available_to) as is_on_sale,
        components.product_id,
        products.kind
    from {{ ref('stg_offers') }} as offers
    inner join {{ ref('stg_offer_components') }} as components
        on components.offer_id = offers.offer_id and components.component_seq = 1 and components.is_current
    inner join {{ ref('stg_products') }} as products
        on products.product_id = components.product_id and products.is_current
    where offers.is_current

),

offers as (

    select * from catalogue where is_on_sale

),

customers as (

    select customer_id, segment from {{ ref('stg_customers') }} where is_current

),

cancellation_candidates as (

    select
        'cancellation_' || cancellations.reason as trigger,
        cancellations.cancellation_id as trigger_id,
        cancellations.subscription_id,
        coalesce(cancellations.ended_term_number, cancellations.not_renewed_term_number) as term_number,
        cancellations.known_on as trigger_date,
        -- until the service ends, or, for a do-not-renew, until the term does
        case when cancellations.outcome = 'ended_term' then cancellations.service_end end as deadline
    from {{ ref('fct_cancellations') }} as cancellations
    where cancellations.reason in ('price', 'content')
        and cancellations.outcome in ('ended_term', 'not_renewed')
        and cancellations.known_on <= {{ business_date() }}

),

tenure as (

    select subscription_id, min(start_date) as first_start from terms group by subscription_id

),

autocharge_candidates as (

    select
        'autocharge_failed' as trigger,
        notices.subscription_id || ':' || cast(notices.term_number as {{ text_type() }}) as trigger_id,
        notices.subscription_id,
        notices.term_number,
        min(notices.entered_flow_on) as trigger_date,
        cast({{ dbt.dateadd('day', var('renewal_notice_offsets')[-1], 'min(notices.term_end)') }} as date) as deadline
    from {{ ref('fct_renewal_notices') }} as notices
    inner join tenure on tenure.subscription_id = notices.subscription_id
    where notices.notice_reason = 'autocharge_failed'
        and notices.entered_flow_on <= {{ business_date() }}
        and {{ dbt.datediff('tenure.first_start', 'notices.entered_flow_on', 'day') }} >= 365
    group by notices.subscription_id, notices.term_number

),

candidates as (

    select * from cancellation_candidates
    union all
    select * from autocharge_candidates

),

described as (

    select
        candidates.trigger,
        candidates.trigger_id,
        candidates.subscription_id,
        candidates.term_number,
        candidates.trigger_date,
        coalesce(candidates.deadline, terms.end_date) as deadline,
        terms.customer_id,
        terms.offer_id as current_offer_id,
        terms.currency,
        terms.term_unit,
        terms.term_length,
        terms.quantity,
        customers.segment,
        current_offers.product_id,
        current_offers.kind,
        terms.renewal_offer_id,
        invoices.net_amount as current_net_amount
    from candidates
    inner join terms
        on terms.subscription_id = candidates.subscription_id and terms.term_number = candidates.term_number
    left join customers on customers.customer_id = terms.customer_id
    left join catalogue as current_offers on current_offers.offer_id = terms.offer_id
    left join {{ ref('fct_invoices') }} as invoices on invoices.order_id = terms.order_id

),

proposals as (

    select
        described.*,
        -- a lower price for the same product: the dearest per unit of service below what the term cost
        -- (thousandths of a cent per unit, zero-padded so text order is number order; ties by offer id)
        {{ arg_max("cheaper.offer_id", "lpad(cast(" ~ int_div(to_cents('cheaper.price') ~ ' * 1000', 'cheaper.term_length') ~ "
            as " ~ text_type() ~ "), 20, '0') || cheaper.offer_id") }} as cheaper_offer_id,
        -- the other format of a publication, or a cheaper membership tier: the cheapest per unit of service
        {{ arg_min("other.offer_id", "lpad(cast(" ~ int_div(to_cents('other.price') ~ ' * 1000', 'other.term_length') ~ "
            as " ~ text_type() ~ "), 20, '0') || other.offer_id") }} as other_offer_id
    from described
    left join offers as cheaper
        on cheaper.product_id = described.product_id
        and cheaper.currency = described.currency
        and cheaper.term_unit = described.term_unit
        and (cheaper.segment is null or cheaper.segment = described.segment)
        and cheaper.offer_id <> described.current_offer_id
        -- cheaper per unit of service (a month, an issue): price × the current length < net × its length
        and {{ to_cents('cheaper.price') }} * described.quantity * described.term_length
            < {{ to_cents('described.current_net_amount') }} * cheaper.term_length
    left join offers as other
        on other.currency = described.currency
        and (other.segment is null or other.segment = described.segment)
        and other.product_id <> described.product_id
        and (
            (described.kind = 'print_publication' and other.kind = 'digital_publication')
            or (described.kind = 'digital_publication' and other.kind = 'print_publication')
            or (described.kind = 'membership' and other.kind = 'membership'
                and other.term_unit = described.term_unit
                and {{ to_cents('other.price') }} * described.quantity * described.term_length
                    < {{ to_cents('described.current_net_amount') }} * other.term_length)
        )
    group by described.trigger, described.trigger_id, described.subscription_id, described.term_number,
        described.trigger_date, described.deadline, described.customer_id, described.current_offer_id,
        described.currency, described.term_unit, described.term_length, described.quantity, described.segment,
        described.product_id, described.kind, described.renewal_offer_id, described.current_net_amount

)

select
    trigger || ':' || trigger_id as save_offer_id,
    trigger,
    trigger_id,
    customer_id,
    subscription_id,
    term_number,
    segment,
    trigger_date,
    deadline,
    current_offer_id,
    current_net_amount,
    currency,
    case
        when trigger = 'cancellation_content' then coalesce(other_offer_id, cheaper_offer_id)
        when trigger = 'cancellation_price' then cheaper_offer_id
        else coalesce(cheaper_offer_id, renewal_offer_id)
    end as proposed_offer_id,
    case
        when trigger = 'cancellation_content' and other_offer_id is not null then 'other_product'
        when cheaper_offer_id is not null then 'lower_price'
        when trigger = 'autocharge_failed' then 'update_payment_method'
        else 'nothing_to_offer'
    end as proposal,
    case when deadline > {{ business_date() }} then 'open' else 'closed' end as status
from proposals
