-- fct_renewal_notices: the renewal notices of every term that is renewed by notice, or whose autocharge failed
-- for good (docs/computations.md, "Renewal notices"). Notice k is due at term end + offset_k ([renewals]
-- renewal_notice_offsets); an offset falling before start + 1 day, or before the day the term entered the
-- notice flow (its recording, or the last failed attempt's answer), is skipped; no notice is due once the
-- renewal order, a cancellation or do-not-renew, or a nonpayment write-off is known. k keeps its offset's place,
-- so ids never shift. Each notice proposes the offer that renewal_offer_rules choose (first matching rule by
-- priority): by the term's net price against list (the price at the end of its offer's renewal chain, per
-- copy), its
-- length, tenure (first renewal or later) and the customer's segment; priced from that offer's current
-- version, taxed at the term's rate.
--   status  sent (due by D, on or after the cut-over), past (due before the cut-over: the legacy system's),
--           scheduled (due after D, as things stand tonight)

with terms as (

    select
        terms.*,
        lead({{ known_date('recorded_date', 'ordered_date') }}) over (
            partition by subscription_id order by term_number) as renewal_known_on
    from {{ ref('int_subscription_terms') }} as terms

),

last_attempts as (

    select
        subscription_id,
        term_number,
        {{ arg_max("answer_status", "attempt") }} as last_status,
        {{ arg_max("answer_recorded_date", "attempt") }} as last_answer_known_on
    from {{ ref('int_autocharge_requests') }}
    group by subscription_id, term_number

),

in_flow as (

    -- terms in the notice flow, and since when
    select
        terms.*,
        case when terms.autorenew then 'autocharge_failed' else 'notice' end as notice_reason,
        case
            when terms.autorenew then last_attempts.last_answer_known_on
            else {{ known_date('terms.recorded_date', 'terms.ordered_date') }}
        end as entered_flow_on
    from terms
    left join last_attempts
        on last_attempts.subscription_id = terms.subscription_id and last_attempts.term_number = terms.term_number
    where terms.renewal_offer_id is not null
        and terms.end_date is not null
        and (
            not terms.autorenew
            or (terms.payment_method_token is not null and terms.autocharge_outcome = 'failed')
        )

),

stops as (

    select
        in_flow.*,
        cancellations.known_on as cancellation_known_on,
        invoices.written_off_on,
        {{ to_cents('invoices.net_amount') }} as current_net_cents
    from in_flow
    left join {{ ref('int_term_cancellations') }} as cancellations
        on cancellations.subscription_id = in_flow.subscription_id
        and cancellations.term_number = in_flow.term_number
    left join {{ ref('fct_invoices') }} as invoices on invoices.order_id = in_flow.order_id

),

offsets as (

    {% for offset in var('renewal_notice_offsets') -%}
    select {{ loop.index }} as notice_number, {{ offset }} as offset_days
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

notices as (

    select
        stops.*,
        offsets.notice_number,
        offsets.offset_days,
        cast({{ dbt.dateadd('day', 'offsets.offset_days', 'stops.end_date') }} as date) as due_date
    from stops
    cross join offsets

),

due as (

    select *
    from notices
    where due_date >= cast({{ dbt.dateadd('day', 1, 'start_date') }} as date)
        and entered_flow_on is not null
        and due_date >= entered_flow_on
        and (renewal_known_on is null or due_date < renewal_known_on)
        and (cancellation_known_on is null or due_date < cancellation_known_on)
        and (written_off_on is null or due_date < written_off_on)

),

offers as (

    select offer_id, price, currency, term_unit, term_length, renewal_offer_id
    from {{ ref('stg_offers') }}
    where is_current

),

chain_steps as (

    -- each offer's renewal chain, step by step (a chain ends where an offer names itself or nothing)
    with recursive steps(start_offer_id, offer_id, step) as (
        select offer_id, offer_id, 0 from offers
        union all
        select steps.start_offer_id, offers.renewal_offer_id, steps.step + 1
        from steps
        inner join offers on offers.offer_id = steps.offer_id
        where offers.renewal_offer_id is not null and offers.renewal_offer_id <> offers.offer_id and steps.step < 12
    )
    select * from steps

),

list_prices as (

    select chain_steps.start_offer_id as offer_id, {{ arg_max("offers.price", "chain_steps.step") }} as list_price
    from chain_steps
    inner join offers on offers.offer_id = chain_steps.offer_id
    group by chain_steps.start_offer_id

),

rules as (

    {% set custom = var('renewal_offer_rules', []) %}
    {% if custom %}
    select * from (values
        {% for r in custom -%}
        ({{ dbt.string_literal(r.rule_id) }}, {{ r.priority | int }},
            {{ dbt.string_literal(r.segment) if r.segment else 'null' }},
            {{ dbt.string_literal(r.tenure) if r.tenure else 'null' }},
            {{ dbt.string_literal(r.term_unit) if r.term_unit else 'null' }},
            {{ dbt.string_literal(r.price_position) if r.price_position else 'null' }},
            {{ dbt.string_literal(r.action) }},
            {{ dbt.string_literal(r.offer_id) if r.offer_id else 'null' }}){{ ',' if not loop.last }}
        {% endfor %}
    ) as custom_rules(rule_id, priority, segment, tenure, term_unit, price_position, action, offer_id)
    {% else %}
    select rule_id, priority, segment, tenure, term_unit, price_position, action, offer_id
    from {{ ref('renewal_offer_rules') }}
    {% endif %}

),

customers as (

    select customer_id, segment from {{ ref('stg_customers') }} where is_current

),

described as (

    select
        due.*,
        customers.segment,
        case when due.term_number = 1 then 'first' else 'later' end as tenure,
        case when due.current_net_cents >= {{ to_cents('list_prices.list_price') }} * due.quantity
            then 'at_or_above_list' else 'below_list' end as price_position,
        list_prices.list_price
    from due
    left join customers on customers.customer_id = due.customer_id
    left join list_prices on list_prices.offer_id = due.offer_id

),

rule_choices as (

    -- each notice's rule: the matching rule of the smallest priority
    select
        described.subscription_id,
        described.term_number,
        described.notice_number,
        {{ arg_min("rules.rule_id", "rules.priority") }} as rule_id,
        {{ arg_min("rules.action", "rules.priority") }} as rule_action,
        {{ arg_min("rules.offer_id", "rules.priority") }} as rule_offer_id
    from described
    inner join rules
        on (rules.segment is null or rules.segment = described.segment)
        and (rules.tenure is null or rules.tenure = described.tenure)
        and (rules.term_unit is null or rules.term_unit = described.term_unit)
        and (rules.price_position is null or rules.price_position = described.price_position)
    group by described.subscription_id, described.term_number, described.notice_number

),

ruled as (

    select
        described.*,
        rule_choices.rule_id,
        rule_choices.rule_action,
        rule_choices.rule_offer_id
    from described
    left join rule_choices
        on rule_choices.subscription_id = described.subscription_id
        and rule_choices.term_number = described.term_number
        and rule_choices.notice_number = described.notice_number

),

offered as (

    select
        ruled.*,
        case ruled.rule_action
            when 'offer' then ruled.rule_offer_id
            when 'next_in_chain' then coalesce(current_offers.renewal_offer_id, ruled.offer_id)
            else ruled.offer_id
        end as proposed_offer_id
    from ruled
    left join offers as current_offers on current_offers.offer_id = ruled.offer_id

),

priced as (

    select
        offered.*,
        {{ to_cents('proposed.price') }} * offered.quantity as offered_net_cents
    from offered
    left join offers as proposed on proposed.offer_id = offered.proposed_offer_id

)

select
    'renewal_notice:' || subscription_id || ':' || cast(term_number as {{ text_type() }}) || ':'
        || cast(notice_number as {{ text_type() }}) as notice_id,
    subscription_id,
    term_number,
    customer_id,
    notice_number,
    offset_days,
    due_date,
    end_date as term_end,
    notice_reason,
    entered_flow_on,
    offer_id as current_offer_id,
    {{ cents_to_money('current_net_cents') }} as current_net_amount,
    list_price,
    segment,
    tenure,
    price_position,
    rule_id,
    proposed_offer_id,
    quantity,
    currency,
    {{ cents_to_money('offered_net_cents') }} as offered_net_amount,
    {{ cents_to_money('offered_net_cents + round(offered_net_cents * cast(tax_rate as decimal(18, 8)))') }}
        as offered_total_amount,
    case
        when due_date > {{ business_date() }} then 'scheduled'
        when {{ due_on_or_after_cutover('due_date') }} then 'sent'
        else 'past'
    end as status
from priced
