"""Pictures marketing reads: ``lifecycle report renewals`` (docs/computations.md, "Renewal outcomes and cohorts").

The figures come from the published warehouse (``marts.rpt_renewal_cohorts`` and
``marts.fct_renewal_outcomes``), so the page shows exactly what the audited night says. Rates are
computed in SQL as exact decimals; they become floats only to be drawn.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lifecycle.io.warehouse import connect_published, last_published_date
from lifecycle.settings import Settings

RATES_SQL = """
select
    product_id,
    cohort_month,
    sum(renewed) as renewed,
    sum(lapsed) as lapsed,
    sum(pending) as pending,
    case when sum(renewed + lapsed) = 0 then null
        -- half away from zero in integers: DECIMAL division would return DOUBLE
        else cast((2 * sum(renewed) * 10000 + sum(renewed + lapsed)) // (2 * sum(renewed + lapsed))
            as decimal(18, 0)) * 0.0001
    end as renewal_rate
from marts.rpt_renewal_cohorts
where cohort_month <= date_trunc('month', cast(? as date))
group by product_id, cohort_month
order by product_id, cohort_month
"""

EFFORTS_SQL = """
select cohort_month, converted_by, count(*) as renewals
from marts.fct_renewal_outcomes
where outcome = 'renewed' and cohort_month <= date_trunc('month', cast(? as date))
group by cohort_month, converted_by
order by cohort_month, converted_by
"""

COHORTS_SQL = """
select product_id, cohort_month, renewal_type, renewal_number, currency, expiring, renewed, lapsed, pending,
    renewal_rate, revenue_retained, converted_by
from marts.rpt_renewal_cohorts
order by cohort_month, product_id, renewal_type, renewal_number, currency
"""


@dataclass
class Report:
    html: Path
    png: Path
    cohorts: int


def write_renewal_report(settings: Settings, out: Path | None = None) -> Report:
    """``<home>/reports/renewals/<D>/renewals.html`` and ``renewals.png`` for the published night D."""
    night = last_published_date(settings)
    if night is None:
        raise FileNotFoundError(f"no published night in {settings.home}: run `lifecycle nightly` first")
    con = connect_published(settings)
    try:
        # the chart stops at the month of D: later cohorts have not come up for renewal yet (the table has them)
        rates = con.execute(RATES_SQL, [night]).fetchall()
        efforts = con.execute(EFFORTS_SQL, [night]).fetchall()
        cohorts = con.execute(COHORTS_SQL).fetchall()
    finally:
        con.close()
    folder = out or settings.home / "reports" / "renewals" / night.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / "renewals.png"
    _draw(png, night, rates, efforts)
    page = folder / "renewals.html"
    page.write_text(_page(night, png.name, cohorts), encoding="utf-8")
    return Report(page, png, len(cohorts))


def _draw(path: Path, night: date, rates: list[tuple], efforts: list[tuple]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 8), sharex=True)
    for product in sorted({r[0] for r in rates}):
        points = [(r[1], float(r[5])) for r in rates if r[0] == product and r[5] is not None]
        if points:
            top.plot([p[0] for p in points], [p[1] * 100 for p in points], marker="o", label=product)
    top.set_ylabel("renewal rate, % of decided terms")
    top.set_ylim(0, 105)
    top.set_title(f"Renewal rate by month of term end, per product (as of {night.isoformat()})")
    top.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    top.grid(alpha=0.3)

    months = sorted({e[0] for e in efforts})
    kinds = sorted({e[1] for e in efforts})
    base = [0] * len(months)
    for kind in kinds:
        counts = [next((e[2] for e in efforts if e[0] == m and e[1] == kind), 0) for m in months]
        bottom.bar(months, counts, width=20, bottom=base, label=kind)
        base = [b + c for b, c in zip(base, counts, strict=True)]
    bottom.set_ylabel("renewals")
    bottom.set_title("The effort that converted each renewal")
    bottom.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    bottom.set_ylim(0, max(base, default=0) * 1.1 + 1)
    bottom.grid(alpha=0.3, axis="y")
    fig.autofmt_xdate()
    fig.tight_layout()
    # no software version in the file: the same night draws the same bytes
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def _page(night: date, png_name: str, cohorts: list[tuple]) -> str:
    header = ("product", "month of term end", "type", "renewal", "currency", "expiring", "renewed", "lapsed",
              "pending", "rate", "revenue retained", "converted by")
    rows = []
    for c in cohorts:
        cells = [c[0], c[1].strftime("%Y-%m"), c[2], c[3], c[4], c[5], c[6], c[7], c[8],
                 "" if c[9] is None else f"{c[9] * 100:.1f} %", c[10], c[11] or ""]
        style = ' class="pending"' if c[8] else ""
        rows.append(f"<tr{style}>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells) + "</tr>")
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Renewal cohorts, {night.isoformat()}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; font-size: 0.9rem; }}
td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }}
tr.pending td {{ color: #777; font-style: italic; }}
</style></head>
<body>
<h1>Renewal cohorts as of {night.isoformat()}</h1>
<p>Rate = renewed ÷ (renewed + lapsed). Cohorts in grey italics still have terms inside their renewal window
(term end + the last notice offset): their rate can still change. The chart stops at the month of the night;
the table also lists later cohorts (early renewals and do-not-renew requests).</p>
<img src="{html.escape(png_name)}" alt="Renewal rate by cohort month per product, and renewals by converting effort">
<table>
<thead><tr>{"".join(f"<th>{html.escape(h)}</th>" for h in header)}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
