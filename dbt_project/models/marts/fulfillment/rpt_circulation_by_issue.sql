-- Circulation by issue and country (docs/computations.md, "Circulation by issue": paid, unpaid-allowed,
-- graced and complimentary copies per issue and country, as circulation audits ask), and the draw. What
-- counts is what the manifests send: the export register's manifest lines of the nights before D (a copy
-- in the register is delivered even if its term was cancelled afterwards; the legacy system's lines recorded
-- at the cut-over as a baseline included), plus tonight's lines that are not in it yet, which tonight's
-- manifest export sends. After the export the register holds exactly these lines: the fulfillment check
-- circulation_matches_register (lifecycle/io/manifests.py) compares them, issue by issue.
-- The draw is what this system ordered from printers for the issue: the register's draws of earlier nights plus
-- tonight's (per printer: copies + ceil(copies × spoilage_percent / 100), as exports/draws computes it). Copies the
-- legacy system sent are not drawn. issue_copies and issue_draw are per issue, repeated on each country row.
with sent as (
    {{ export_register('manifest_lines', {
        'manifest_line_id': 'varchar', 'issue_id': 'varchar', 'product_id': 'varchar', 'ship_date': 'date',
        'country': 'varchar', 'quantity': 'integer', 'shipper_id': 'varchar', 'entitlement_kind': 'varchar',
        'copy_kind': 'varchar', 'list_close_date': 'date', 'baseline': 'boolean'}) }}
),

earlier_draws as (
    {{ export_register('draws', {'draw_line_id': 'varchar', 'issue_id': 'varchar', 'printer_id': 'varchar',
                                 'total_draw': 'integer'}) }}
),

printers as (
    select shipper_id as printer_id, spoilage_percent
    from {{ ref('stg_shippers') }}
    where is_current and role = 'printer'
),

tonight as (
    -- what tonight's manifest export sends: lines of issues not shipped yet, not in the register
    select
        l.manifest_line_id, l.issue_id, l.product_id, l.ship_date, l.country, l.quantity, l.shipper_id,
        l.entitlement_kind, l.copy_kind,
        -- the first manifest night of a migrated home records the legacy's lines (list closed before the
        -- cut-over) as a baseline: delivered, not drawn
        coalesce(l.list_close_date < cast(nullif('{{ var("cutover_date") }}', '') as date)
                 and not exists (select 1 from sent), false) as baseline
    from {{ ref('fct_manifest_lines') }} as l
    where l.ship_date >= {{ business_date() }}
      and l.manifest_line_id not in (select manifest_line_id from sent)
),

lines as (
    select issue_id, country, quantity, entitlement_kind, copy_kind from sent
    union all
    select issue_id, country, quantity, entitlement_kind, copy_kind from tonight
),

tonight_by_printer as (
    select
        t.issue_id,
        coalesce(p.printer_id, (select min(printer_id) from printers)) as printer_id,
        sum(t.quantity) as copies
    from tonight as t
    left join printers as p on p.printer_id = t.shipper_id
    where not t.baseline and exists (select 1 from printers)
    group by 1, 2
),

tonight_draws as (
    select
        d.issue_id,
        -- ceil(copies × spoilage_percent / 100) in integers: spoilage_percent has 8 decimals
        d.copies + {{ int_div('d.copies * cast(p.spoilage_percent * 100000000 as ' ~ wide_int() ~ ') + 9999999999',
                              '10000000000') }} as total_draw
    from tonight_by_printer as d
    inner join printers as p using (printer_id)
),

draws as (
    select issue_id, sum(total_draw) as issue_draw
    from (select issue_id, total_draw from earlier_draws union all select issue_id, total_draw from tonight_draws) as drawn
    group by issue_id
),

by_country as (
    select
        issue_id,
        coalesce(country, '') as country,
        sum(quantity) filter (where entitlement_kind = 'paid') as paid_copies,
        sum(quantity) filter (where entitlement_kind = 'unpaid_allowed') as unpaid_allowed_copies,
        sum(quantity) filter (where copy_kind = 'graced') as graced_copies,
        sum(quantity) filter (where copy_kind = 'complimentary') as complimentary_copies,
        sum(quantity) filter (where copy_kind = 'reship') as reship_copies,
        sum(quantity) as total_copies
    from lines
    group by 1, 2
)

select
    c.issue_id,
    i.product_id,
    i.cover_date,
    i.ship_date,
    i.ship_date <= {{ business_date() }} as is_shipped,
    c.country,
    coalesce(c.paid_copies, 0) as paid_copies,
    coalesce(c.unpaid_allowed_copies, 0) as unpaid_allowed_copies,
    coalesce(c.graced_copies, 0) as graced_copies,
    coalesce(c.complimentary_copies, 0) as complimentary_copies,
    coalesce(c.reship_copies, 0) as reship_copies,
    c.total_copies,
    sum(c.total_copies) over (partition by c.issue_id) as issue_copies,
    coalesce(d.issue_draw, 0) as issue_draw
from by_country as c
left join {{ ref('stg_issue_schedules') }} as i on i.issue_id = c.issue_id and i.is_current
left join draws as d on d.issue_id = c.issue_id
order by c.issue_id, c.country
