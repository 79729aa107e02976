"""The month-end close pack: ``lifecycle report close --period YYYY-MM``.

One self-contained HTML page (CSS inline, the chart embedded as a base64 PNG, no external resource) and the PNG
beside it, in ``<home>/reports/close/<P>/``, for period P as the PUBLISHED warehouse has it (the read-only
connection of ``lifecycle.io.warehouse``; the night is the file's ``marts.warehouse_night``). Where each figure comes from:

1. Header: P, the published night, the functional currency (``[business] functional_currency``), whether P is
   closed on that night (``Settings.is_closed``: the ``[close]`` calendar and the cut-over's opening period).
2. Trial balance: ``marts.rpt_trial_balance`` for P, one row per account and transaction currency, as the mart
   has them (closing = debit − credit through P; opening = closing − the period's debits + credits), in
   transaction and functional currency; totals per currency and in functional currency (debits = credits).
3. Deferred revenue: ``marts.rpt_deferred_revenue_rollforward`` for P (transaction currency: the mart has no
   functional amounts) beside the deferred-revenue account of the trial balance, and
   ``marts.rpt_deferred_revenue_waterfall`` (the night's deferred balance by the month it will be earned).
4. Earned revenue: ``marts.rpt_earned_revenue`` for P, and a chart of its functional amounts per product over the
   up-to-12 months ending at P (the cut-over's opening period holds the whole migrated history, so the chart
   leaves it out unless P is that period).
5. AR aging: ``marts.rpt_ar_aging`` (open invoices as of the night, transaction currency) beside the AR account
   of the trial balance for P and the difference, per currency; for a P before the night's period also the AR
   account as of the night, the balance the aging really ties to.
6. Tax payable: ``marts.rpt_tax_payable`` for P, per country and currency, with the functional closing balance.
7. Refunds payable: the refunds-payable account of the trial balance for P, and the refunds still open as of
   the night (``marts.fct_refund_answers`` rows not answered: open, amount_mismatch, unrequested), whose open
   amounts add up to the account as of the night.
8. Tie-outs: the night's gates file (``state/gates/<night>.json``: checks evaluated and failed per domain), and
   the key tie-outs recomputed in SQL over the marts, each with its figures and whether it held.

Money is ``Decimal`` from DuckDB to the page (2 decimals, thousands separators); it becomes float only to be
drawn. The same published night and period give byte-identical HTML and PNG: nothing in them depends on the
clock, the PNG carries no software version, and every row is ordered.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from lifecycle.checks.gates import DOMAINS, Gates, read_gates
from lifecycle.io.warehouse import connect_published, last_published_date
from lifecycle.settings import Settings

ZERO = Decimal("0.00")
PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MONTHS_CHARTED = 12

PERIODS_SQL = "select distinct period from marts.fct_journal_lines where period is not null order by period"

TRIAL_BALANCE_SQL = """
select account_code, account_key, account_name, currency,
    closing_balance - period_debit + period_credit as opening_balance,
    period_debit, period_credit, closing_balance,
    closing_functional_balance - period_functional_debit + period_functional_credit as functional_opening_balance,
    period_functional_debit, period_functional_credit, closing_functional_balance
from marts.rpt_trial_balance
where period = ?
order by account_code, account_key, currency
"""

ROLLFORWARD_SQL = """
select product_id, currency, opening_balance, billings, recognised, refunds_and_credits, closing_balance
from marts.rpt_deferred_revenue_rollforward
where period = ?
order by currency, product_id
"""

WATERFALL_SQL = """
select strftime(recognition_month, '%Y-%m') as month, currency, sum(deferred_amount) as deferred_amount
from marts.rpt_deferred_revenue_waterfall
group by 1, 2
order by month nulls last, currency
"""

EARNED_SQL = """
select product_id, currency, earned_revenue, functional_earned_revenue, cancellation_fee_revenue,
    functional_cancellation_fee_revenue
from marts.rpt_earned_revenue
where period = ?
order by product_id, currency
"""

EARNED_SERIES_SQL = """
select period, product_id, sum(functional_earned_revenue) as functional_earned_revenue
from marts.rpt_earned_revenue
where period between ? and ?
group by period, product_id
order by period, product_id
"""

AGING_SQL = """
select currency, aging_bucket, invoices, balance_due
from marts.rpt_ar_aging
order by currency, aging_bucket
"""

TAX_SQL = """
select country, currency, opening_balance, tax_invoiced, tax_reversed, closing_tax_payable,
    functional_closing_tax_payable
from marts.rpt_tax_payable
where period = ?
order by country nulls last, currency
"""

OPEN_REFUNDS_SQL = """
select refund_answer_id, decided_on, cast(? as date) - decided_on as days_open, is_requested, customer_id,
    currency, original_payment_id, requested_amount, answered_amount, open_amount, answer_status
from marts.fct_refund_answers
where answer_status <> 'answered'
order by currency, decided_on nulls last, refund_answer_id
"""

#: An account's balance per currency for one period (debit − credit, as the trial balance has it).
ACCOUNT_SQL = """
select currency, closing_balance as v, closing_functional_balance as f
from marts.rpt_trial_balance
where period = ? and account_key = ?
order by currency
"""

#: Tie-outs: each side selects (k, v) for a key k (a currency, or the functional currency); full outer join.
TIE_SQL = """
with l as ({left}), r as ({right})
select coalesce(l.k, r.k) as k, coalesce(l.v, 0.00) as figure, coalesce(r.v, 0.00) as against
from l full outer join r on r.k = l.k
order by 1
"""

TIES: list[tuple[str, str, str, int]] = [
    # (tie-out, left side, right side, number of period parameters each side takes)
    ("Trial balance: the period's debits = its credits (functional currency)",
     "select ? as k, sum(period_functional_debit) as v from marts.rpt_trial_balance where period = ?",
     "select ? as k, sum(period_functional_credit) as v from marts.rpt_trial_balance where period = ?", -1),
    ("Trial balance: the period's debits = its credits (transaction currency)",
     "select currency as k, sum(period_debit) as v from marts.rpt_trial_balance where period = ? group by 1",
     "select currency as k, sum(period_credit) as v from marts.rpt_trial_balance where period = ? group by 1", 1),
    ("Trial balance: debit balances = credit balances at the period's end (functional currency)",
     "select ? as k, sum(greatest(closing_functional_balance, 0)) as v from marts.rpt_trial_balance where period = ?",
     "select ? as k, -sum(least(closing_functional_balance, 0)) as v from marts.rpt_trial_balance where period = ?",
     -1),
    ("Deferred revenue: roll-forward closing = the deferred-revenue account (credit balance)",
     "select currency as k, sum(closing_balance) as v from marts.rpt_deferred_revenue_rollforward "
     "where period = ? group by 1",
     "select currency as k, -sum(closing_balance) as v from marts.rpt_trial_balance "
     "where period = ? and account_key = 'deferred_revenue' group by 1", 1),
    ("Earned revenue: rpt_earned_revenue = the revenue account's credits − debits (functional currency)",
     "select ? as k, sum(functional_earned_revenue) as v from marts.rpt_earned_revenue where period = ?",
     "select ? as k, sum(period_functional_credit - period_functional_debit) as v from marts.rpt_trial_balance "
     "where period = ? and account_key = 'revenue'", -1),
    ("Tax payable: rpt_tax_payable closing = the sales-tax account (credit balance, functional currency)",
     "select ? as k, sum(functional_closing_tax_payable) as v from marts.rpt_tax_payable where period = ?",
     "select ? as k, -sum(closing_functional_balance) as v from marts.rpt_trial_balance "
     "where period = ? and account_key = 'tax_payable'", -1),
]

#: Tie-outs of the night's reports (as of the night) to the ledger as of the night (its latest period).
NIGHT_TIES: list[tuple[str, str, str]] = [
    ("Deferred revenue waterfall (as of the night) = the deferred-revenue account as of the night",
     "select currency as k, sum(deferred_amount) as v from marts.rpt_deferred_revenue_waterfall group by 1",
     "select currency as k, -sum(closing_balance) as v from marts.rpt_trial_balance "
     "where period = ? and account_key = 'deferred_revenue' group by 1"),
    ("AR aging (as of the night) = the AR account as of the night",
     "select currency as k, sum(balance_due) as v from marts.rpt_ar_aging group by 1",
     "select currency as k, sum(closing_balance) as v from marts.rpt_trial_balance "
     "where period = ? and account_key = 'accounts_receivable' group by 1"),
    ("Open refunds (fct_refund_answers, as of the night) = the refunds-payable account as of the night",
     "select currency as k, sum(open_amount) as v from marts.fct_refund_answers group by 1",
     "select currency as k, -sum(closing_balance) as v from marts.rpt_trial_balance "
     "where period = ? and account_key = 'refunds_payable' group by 1"),
]


@dataclass
class TieOut:
    name: str
    currency: str
    figure: Decimal
    against: Decimal

    @property
    def difference(self) -> Decimal:
        return self.figure - self.against

    @property
    def held(self) -> bool:
        return self.figure == self.against


@dataclass
class ClosePack:
    """What ``write_close_pack`` wrote and the figures it shows. Amounts the mart carries in functional currency
    are one Decimal in it; amounts a mart has in transaction currency only are a Decimal per currency."""

    html: Path
    pngs: list[Path]
    period: str
    night: date
    functional_currency: str
    closed: bool
    trial_balance_debits: Decimal  # functional: the period's debits (rpt_trial_balance)
    trial_balance_credits: Decimal  # functional: the period's credits
    deferred_closing: dict[str, Decimal]  # rpt_deferred_revenue_rollforward closing per currency
    deferred_account_closing: dict[str, Decimal]  # the deferred-revenue account's credit balance per currency
    deferred_account_functional: Decimal  # the same in functional currency
    earned_revenue: Decimal  # functional, rpt_earned_revenue for P (cancellation fees not included)
    ar_aging_total: dict[str, Decimal]  # rpt_ar_aging per currency, as of the night (0.00: none open)
    ar_account_closing: dict[str, Decimal]  # the AR account's closing balance for P per currency
    ar_difference: dict[str, Decimal]  # aging − AR account, per currency
    tax_payable_total: Decimal  # functional: rpt_tax_payable's closing for P, all countries
    refunds_payable: Decimal  # functional: the refunds-payable account's credit balance for P
    refunds_payable_by_currency: dict[str, Decimal] = field(default_factory=dict)
    open_refunds: dict[str, Decimal] = field(default_factory=dict)  # open amounts of fct_refund_answers
    tie_outs: list[TieOut] = field(default_factory=list)

    @property
    def tie_outs_held(self) -> bool:
        return all(t.held for t in self.tie_outs)


def check_period(period: str) -> str:
    """``period`` if it is a YYYY-MM month, else a ValueError saying what to type."""
    if not isinstance(period, str) or not PERIOD.fullmatch(period):
        raise ValueError(f"period {period!r} is not a month written YYYY-MM: type e.g. --period 2026-11")
    return period


def write_close_pack(settings: Settings, period: str, out: Path | None = None) -> ClosePack:
    """``<home>/reports/close/<period>/close-<period>.html`` and its chart PNG, from the published night."""
    check_period(period)
    night = last_published_date(settings)
    if night is None:
        raise FileNotFoundError(f"no published night in {settings.home}: run `lifecycle nightly` first")
    con = connect_published(settings)
    try:
        periods = [r[0] for r in con.execute(PERIODS_SQL).fetchall()]
        if period not in periods:
            listed = ", ".join(periods) or "none"
            hint = f"type e.g. --period {periods[-1]}" if periods else "run `lifecycle nightly` first"
            raise ValueError(f"period {period} has no journal lines in the warehouse published for night "
                             f"{night.isoformat()} (periods with journal lines: {listed}): {hint}")
        latest = periods[-1]
        data = _read(con, settings, period, periods, night)
    finally:
        con.close()

    gates = read_gates(settings, night)
    folder = out or settings.home / "reports" / "close" / period
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"close-{period}-earned-revenue.png"
    _draw(png, period, data["series_months"], data["series"], settings.functional_currency)
    page = folder / f"close-{period}.html"
    closed = settings.is_closed(period, night)
    page.write_text(_page(settings, period, latest, night, closed, gates, data, png), encoding="utf-8")

    tb = data["trial_balance"]
    ar_account = {c: v for c, v, _ in data["ar_account"]}
    aging = _by_currency((r[0], r[3]) for r in data["aging"])
    aging = {c: aging.get(c, ZERO) for c in sorted({*aging, *ar_account})}  # 0.00 where nothing is open
    deferred_account = data["deferred_account"]
    refunds_account = data["refunds_account"]
    return ClosePack(
        html=page,
        pngs=[png],
        period=period,
        night=night,
        functional_currency=settings.functional_currency,
        closed=closed,
        trial_balance_debits=_sum(r[9] for r in tb),
        trial_balance_credits=_sum(r[10] for r in tb),
        deferred_closing=_by_currency((r[1], r[6]) for r in data["rollforward"]),
        deferred_account_closing={c: -v for c, v, _ in deferred_account},
        deferred_account_functional=-_sum(f for _, _, f in deferred_account),
        earned_revenue=_sum(r[3] for r in data["earned"]),
        ar_aging_total=aging,
        ar_account_closing=ar_account,
        ar_difference={c: aging[c] - ar_account.get(c, ZERO) for c in aging},
        tax_payable_total=_sum(r[6] for r in data["tax"]),
        refunds_payable=-_sum(f for _, _, f in refunds_account),
        refunds_payable_by_currency={c: -v for c, v, _ in refunds_account},
        open_refunds=_by_currency((r[5], r[9]) for r in data["open_refunds"]),
        tie_outs=data["tie_outs"],
    )


# -- reading --------------------------------------------------------------------------------------

def _read(con, settings: Settings, period: str, periods: list[str], night: date) -> dict[str, object]:
    fc, latest, opening = settings.functional_currency, periods[-1], settings.opening_period
    # the chart: from the first period with journal lines, leaving out the opening period unless it is P
    months = [m for m in _months_ending(period, MONTHS_CHARTED)
              if m == period or (m >= periods[0] and (opening is None or m > opening))]
    data: dict[str, object] = {
        "trial_balance": con.execute(TRIAL_BALANCE_SQL, [period]).fetchall(),
        "rollforward": con.execute(ROLLFORWARD_SQL, [period]).fetchall(),
        "waterfall": con.execute(WATERFALL_SQL).fetchall(),
        "earned": con.execute(EARNED_SQL, [period]).fetchall(),
        "series_months": months,
        "series": [r for r in con.execute(EARNED_SERIES_SQL, [months[0], months[-1]]).fetchall() if r[0] in months],
        "aging": con.execute(AGING_SQL).fetchall(),
        "tax": con.execute(TAX_SQL, [period]).fetchall(),
        "open_refunds": con.execute(OPEN_REFUNDS_SQL, [night]).fetchall(),
    }
    for key, account in (("deferred_account", "deferred_revenue"), ("ar_account", "accounts_receivable"),
                         ("refunds_account", "refunds_payable")):
        data[key] = con.execute(ACCOUNT_SQL, [period, account]).fetchall()
        data[f"{key}_night"] = con.execute(ACCOUNT_SQL, [latest, account]).fetchall()
    ties: list[TieOut] = []
    for name, left, right, kind in TIES:
        params = [fc, period, fc, period] if kind == -1 else [period, period]
        ties += [TieOut(name, k, v, a) for k, v, a in
                 con.execute(TIE_SQL.format(left=left, right=right), params).fetchall()]
    for name, left, right in NIGHT_TIES:
        ties += [TieOut(name, k, v, a) for k, v, a in
                 con.execute(TIE_SQL.format(left=left, right=right), [latest]).fetchall()]
    data["tie_outs"] = ties
    return data


def _months_ending(period: str, count: int) -> list[str]:
    year, month = int(period[:4]), int(period[5:7])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def _sum(values) -> Decimal:
    total = ZERO
    for v in values:
        total += _decimal(v)
    return total


def _by_currency(pairs) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for currency, amount in pairs:
        out[currency] = out.get(currency, ZERO) + _decimal(amount)
    return dict(sorted(out.items()))


def _decimal(value) -> Decimal:
    """A figure as the mart gave it: Decimal (or a whole number); a float never reaches the page."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"money must be Decimal, got {type(value).__name__} {value!r}")


# -- drawing --------------------------------------------------------------------------------------

def _draw(path: Path, period: str, months: list[str], series: list[tuple], currency: str) -> None:
    """Stacked bars of functional earned revenue per product and month (positive and negative stacks apart)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import StrMethodFormatter

    with matplotlib.rc_context({"svg.hashsalt": "lifecycle-close-pack", "path.simplify": True}):
        fig = Figure(figsize=(11, 5))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        positions = list(range(len(months)))
        up = [0.0] * len(months)
        down = [0.0] * len(months)
        for product in sorted({r[1] for r in series}):
            # float only here: the bar heights
            values = [float(sum((_decimal(r[2]) for r in series if r[0] == m and r[1] == product), ZERO))
                      for m in months]
            bottoms = [u if v >= 0 else d for v, u, d in zip(values, up, down, strict=True)]
            ax.bar(positions, values, bottom=bottoms, width=0.7, label=product)
            up = [u + max(v, 0.0) for u, v in zip(up, values, strict=True)]
            down = [d + min(v, 0.0) for d, v in zip(down, values, strict=True)]
        ax.set_xticks(positions, months, rotation=45, ha="right")
        ax.set_xlim(-0.75, max(len(months), 6) - 0.25)  # a bar keeps its width when few months exist
        ax.axhline(0, color="#444", linewidth=0.8)
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_ylabel(f"earned revenue, {currency}")
        span = period if len(months) == 1 else f"{months[0]} to {period}"
        ax.set_title(f"Earned revenue by product, {span} ({currency}, functional)")
        if series:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        # no software version in the file: the same night draws the same bytes
        fig.savefig(path, dpi=100, format="png", metadata={"Software": None})


# -- the page -------------------------------------------------------------------------------------

def _money(value) -> str:
    amount = _decimal(value)
    if amount.is_zero():
        amount = abs(amount)  # never "-0.00"
    return f"{amount:,.2f}"


def _e(value) -> str:
    return html.escape(str(value))


def _table(header: list[str], rows: list[list[object]], money: set[int], classes: list[str] | None = None,
           table_id: str = "") -> str:
    """A table; the columns in ``money`` are Decimals, formatted and right-aligned; every cell escaped."""
    num = ' class="num"'
    head = "".join(f"<th{num if i in money else ''}>{_e(h)}</th>" for i, h in enumerate(header))
    body = []
    for n, row in enumerate(rows):
        css = classes[n] if classes else ""
        cells = "".join(
            f'<td class="num">{_e(_money(v))}</td>' if i in money and v is not None
            else f'<td class="num">{_e(v)}</td>' if isinstance(v, int) and not isinstance(v, bool)
            else f"<td>{_e('' if v is None else v)}</td>" for i, v in enumerate(row))
        attr = f' class="{css}"' if css else ""
        body.append(f"<tr{attr}>{cells}</tr>")
    ident = f' id="{_e(table_id)}"' if table_id else ""
    return (f"<table{ident}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body)
            + "\n</tbody>\n</table>")


def _yes(held: bool) -> str:
    return "yes" if held else "NO"


def _page(settings: Settings, period: str, latest: str, night: date, closed: bool, gates: Gates | None,
          data: dict, png: Path) -> str:
    fc = settings.functional_currency
    sections = [
        _header(settings, period, latest, night, closed),
        _trial_balance(data["trial_balance"], fc),
        _deferred(period, data, fc),
        _earned(settings, period, data, png, fc),
        _aging(period, latest, data),
        _tax(data["tax"], fc),
        _refunds(period, latest, data, fc),
        _tie_outs(night, gates, data["tie_outs"]),
    ]
    title = f"Month-end close pack {period}"
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{_e(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
h1 {{ margin-bottom: 0.3rem; }}
h2 {{ margin-top: 2.2rem; border-bottom: 1px solid #bbb; }}
table {{ border-collapse: collapse; font-size: 0.85rem; margin: 0.6rem 0 1rem; }}
td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
tr.total td {{ font-weight: 600; background: #fafafa; }}
tr.failed td {{ background: #fde8e8; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }}
dt {{ font-weight: 600; }}
img {{ max-width: 100%; }}
.note {{ color: #555; max-width: 60rem; }}
</style></head>
<body>
{chr(10).join(sections)}
</body>
</html>
"""


def _header(settings: Settings, period: str, latest: str, night: date, closed: bool) -> str:
    if closed:
        status = f"closed on that night (periods are closed through {settings.closed_through(night)})"
    else:
        status = f"open on that night: its figures are as of {night.isoformat()} and can still change"
    items = [
        ("Period", period),
        ("Published night", night.isoformat()),
        ("Functional currency", settings.functional_currency),
        ("Closed", ("yes, " if closed else "no, ") + status),
    ]
    if period == settings.opening_period:
        items.append(("Opening period", "this is the cut-over's opening period: its movements are the "
                                        "opening-balance entry of the migrated history"))
    items.append(("Drawn from", f"the published warehouse {settings.warehouse} (read-only), night "
                                f"{night.isoformat()}; the ledger's latest period that night is {latest}"))
    rows = "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    return f"""<h1>{_e(f"Month-end close pack {period}")}</h1>
<dl id="header">
{rows}
</dl>
<p class="note">Amounts in {_e(settings.functional_currency)} (functional currency) beside the transaction currency
where the mart carries both; a table without functional amounts is in the currency of each row. Balances as the
trial balance has them are debit − credit (a liability's balance is negative); "credit balance" columns turn the
sign around. Every figure is read from the published marts named in each section; the tie-outs are recomputed in
SQL over them.</p>"""


def _trial_balance(tb: list[tuple], fc: str) -> str:
    header = ["code", "account", "currency", "opening", "debits", "credits", "closing",
              f"opening {fc}", f"debits {fc}", f"credits {fc}", f"closing {fc}"]
    rows: list[list[object]] = [[r[0], r[2], r[3], *r[4:12]] for r in tb]
    classes = [""] * len(rows)
    for currency in sorted({r[3] for r in tb}):
        mine = [r for r in tb if r[3] == currency]
        rows.append(["", f"total {currency}", currency, *(_sum(r[i] for r in mine) for i in range(4, 12))])
        classes.append("total")
    rows.append(["", f"total ({fc}, functional)", "all", None, None, None, None,
                 *(_sum(r[i] for r in tb) for i in range(8, 12))])
    classes.append("total")
    debits, credits = _sum(r[9] for r in tb), _sum(r[10] for r in tb)
    return f"""<h2 id="trial-balance">Trial balance</h2>
<p class="note">marts.rpt_trial_balance, one row per account and transaction currency (opening = closing − the
period's debits + its credits).</p>
<p id="tb-debits-credits">Debits {_e(_money(debits))} {_e(fc)} = credits {_e(_money(credits))} {_e(fc)}:
{_e("they agree" if debits == credits else f"they differ by {_money(debits - credits)} {fc}")}.</p>
{_table(header, rows, set(range(3, 11)), classes, "trial-balance-table")}"""


def _deferred(period: str, data: dict, fc: str) -> str:
    rf = data["rollforward"]
    rows: list[list[object]] = [list(r) for r in rf]
    classes = [""] * len(rows)
    for currency in sorted({r[1] for r in rf}):
        mine = [r for r in rf if r[1] == currency]
        rows.append(["total", currency, *(_sum(r[i] for r in mine) for i in range(2, 7))])
        classes.append("total")
    account = [[c, _sum(r[6] for r in rf if r[1] == c), -v, -f] for c, v, f in data["deferred_account"]]
    months = list(dict.fromkeys(r[0] for r in data["waterfall"]))
    currencies = sorted({r[1] for r in data["waterfall"]})
    cells = {(r[0], r[1]): r[2] for r in data["waterfall"]}
    wf_rows: list[list[object]] = [[m or "not yet scheduled", *(cells.get((m, c), ZERO) for c in currencies)]
                                   for m in months]
    wf_rows.append(["total", *(_sum(r[2] for r in data["waterfall"] if r[1] == c) for c in currencies)])
    return f"""<h2 id="deferred-revenue">Deferred revenue</h2>
<p class="note">Roll-forward for {_e(period)}: marts.rpt_deferred_revenue_rollforward (transaction currency; the
mart has no functional amounts): opening + billings − recognised − refunds and credits = closing.</p>
{_table(["product", "currency", "opening", "billings", "recognised", "refunds and credits", "closing"],
        rows, {2, 3, 4, 5, 6}, classes, "rollforward-table")}
<p>Beside the deferred-revenue account of the trial balance for {_e(period)} (credit balance):</p>
{_table(["currency", "roll-forward closing", "deferred-revenue account", f"account in {fc}"], account,
        {1, 2, 3}, None, "deferred-account-table")}
<h3>Waterfall: when the night's deferred balance will be earned</h3>
<p class="note">marts.rpt_deferred_revenue_waterfall, by the month of recognition, per currency (summed over
products); "not yet scheduled" holds deliveries an issue schedule does not reach yet.</p>
{_table(["month", *currencies], wf_rows, set(range(1, len(currencies) + 1)),
        [""] * (len(wf_rows) - 1) + ["total"], "waterfall-table")}"""


def _earned(settings: Settings, period: str, data: dict, png: Path, fc: str) -> str:
    earned = data["earned"]
    rows: list[list[object]] = [list(r) for r in earned]
    classes = [""] * len(rows)
    for currency in sorted({r[1] for r in earned}):
        mine = [r for r in earned if r[1] == currency]
        rows.append(["total", currency, *(_sum(r[i] for r in mine) for i in range(2, 6))])
        classes.append("total")
    rows.append([f"total ({fc}, functional)", "all", None, _sum(r[3] for r in earned), None,
                 _sum(r[5] for r in earned)])
    classes.append("total")
    months, series = data["series_months"], data["series"]
    products = sorted({r[1] for r in series})
    cells = {(r[0], r[1]): r[2] for r in series}
    chart_rows = [[p, *(cells.get((m, p), ZERO) for m in months)] for p in products]
    chart_rows.append(["total", *(_sum(r[2] for r in series if r[0] == m) for m in months)])
    encoded = base64.b64encode(png.read_bytes()).decode("ascii")
    left_out = ""
    if settings.opening_period and settings.opening_period < period:
        left_out = (f" The opening period {settings.opening_period} (the whole migrated history's revenue) and "
                    "the months before it are left out.")
    return f"""<h2 id="earned-revenue">Earned revenue by product</h2>
<p class="note">marts.rpt_earned_revenue for {_e(period)}: the revenue account per product and currency, and the
cancellation fees kept beside it.</p>
{_table(["product", "currency", "earned revenue", f"earned revenue {fc}", "cancellation fees",
         f"cancellation fees {fc}"], rows, {2, 3, 4, 5}, classes, "earned-table")}
<p class="note">The chart: earned revenue in {_e(fc)} (functional) per product, {_e(months[0])} to
{_e(period)}.{_e(left_out)} The PNG is also beside this page as {_e(png.name)}.</p>
<img src="data:image/png;base64,{encoded}" alt="{_e(f"Earned revenue by product, {months[0]} to {period}")}">
{_table(["product", *months], chart_rows, set(range(1, len(months) + 1)),
        [""] * (len(chart_rows) - 1) + ["total"], "earned-series-table")}"""


def _tie_rows(aging: dict[str, Decimal], account: dict[str, Decimal]) -> list[list[object]]:
    return [[c, aging.get(c, ZERO), account.get(c, ZERO), aging.get(c, ZERO) - account.get(c, ZERO),
             _yes(aging.get(c, ZERO) == account.get(c, ZERO))] for c in sorted({*aging, *account})]


def _aging(period: str, latest: str, data: dict) -> str:
    rows: list[list[object]] = [list(r) for r in data["aging"]]
    aging = _by_currency((r[0], r[3]) for r in data["aging"])
    account = {c: v for c, v, _ in data["ar_account"]}
    tie = _tie_rows(aging, account)
    later = ""
    if period != latest:
        night_account = {c: v for c, v, _ in data["ar_account_night"]}
        later = f"""<p>The aging is the night's, so it ties to the AR account as of the night (the closing balance of
{_e(latest)}); for {_e(period)} the difference above is AR's movement after {_e(period)}:</p>
{_table(["currency", "aging total", f"AR account, closing {latest}", "difference", "ties"],
        _tie_rows(aging, night_account), {1, 2, 3}, None, "ar-tie-night-table")}"""
    return f"""<h2 id="ar-aging">Accounts receivable aging</h2>
<p class="note">marts.rpt_ar_aging: open invoices as of the night by days past due, per currency (transaction
currency; the mart has no functional amounts).</p>
{_table(["currency", "days past due", "invoices", "balance due"], rows, {3}, None, "aging-table")}
<p>Tied to the AR account of the trial balance for {_e(period)} (difference = aging − account; it should be
0.00):</p>
{_table(["currency", "aging total", f"AR account, closing {period}", "difference", "ties"], tie, {1, 2, 3},
        ["" if r[4] == "yes" else "failed" for r in tie], "ar-tie-table")}
{later}"""


def _tax(tax: list[tuple], fc: str) -> str:
    rows: list[list[object]] = [list(r) for r in tax]
    classes = [""] * len(rows)
    for currency in sorted({r[1] for r in tax}):
        mine = [r for r in tax if r[1] == currency]
        rows.append(["total", currency, *(_sum(r[i] for r in mine) for i in range(2, 7))])
        classes.append("total")
    rows.append([f"total ({fc}, functional)", "all", None, None, None, None, _sum(r[6] for r in tax)])
    classes.append("total")
    return f"""<h2 id="tax-payable">Tax payable by country</h2>
<p class="note">marts.rpt_tax_payable: tax invoiced, tax reversed by credit notes and refunds, the migrated opening
balance (the opening period only) and the closing balance owed to each country's tax authority.</p>
{_table(["country", "currency", "opening balance (migrated)", "tax invoiced", "tax reversed", "closing",
         f"closing {fc}"], rows, {2, 3, 4, 5, 6}, classes, "tax-table")}"""


def _refunds(period: str, latest: str, data: dict, fc: str) -> str:
    account = [[c, -v, -f] for c, v, f in data["refunds_account"]]
    account.append([f"total ({fc}, functional)", None, -_sum(f for _, _, f in data["refunds_account"])])
    open_rows = data["open_refunds"]
    rows: list[list[object]] = [
        [r[0], r[1].isoformat() if r[1] else "", "" if r[2] is None else r[2], "yes" if r[3] else "no (legacy)",
         r[4], r[5], r[6] or "", r[7], r[8], r[9], r[10]] for r in open_rows]
    classes = ["" if r[10] == "open" else "failed" for r in open_rows]
    for currency in sorted({r[5] for r in open_rows}):
        mine = [r for r in open_rows if r[5] == currency]
        rows.append(["total", "", "", "", "", currency, "", _sum(r[7] for r in mine), _sum(r[8] for r in mine),
                     _sum(r[9] for r in mine), ""])
        classes.append("total")
    when = "" if period == latest else (f" These are the night's; they add up to the account as of the night "
                                        f"(the closing balance of {latest}), see the tie-outs.")
    return f"""<h2 id="refunds-payable">Refunds payable</h2>
<p>The refunds-payable account of the trial balance for {_e(period)} (credit balance):</p>
{_table(["currency", "refunds payable", f"refunds payable {fc}"], account, {1, 2},
        [""] * (len(account) - 1) + ["total"], "refunds-account-table")}
<p class="note">Refunds still open as of the night: marts.fct_refund_answers rows not answered (open: decided, no
processor answer yet; amount_mismatch: answered with another amount; unrequested: an answer to no decision,
negative open amount). "Requested" says whether the decision went to the processor (on or after the cut-over);
legacy decisions were the legacy processor's to pay. Refunds payable = the sum of the open amounts.{_e(when)}</p>
{_table(["refund", "decided on", "days open", "requested", "customer", "currency", "payment refunded",
         "decided amount", "answered", "open amount", "status"], rows, {7, 8, 9}, classes, "open-refunds-table")}"""


def _tie_outs(night: date, gates: Gates | None, ties: list[TieOut]) -> str:
    if gates is None:
        gate_part = f"<p>No gates file for night {_e(night.isoformat())} (state/gates/{_e(night.isoformat())}.json).</p>"
    else:
        rows: list[list[object]] = [[d, DOMAINS[d], gates.checks.get(d, 0), sum(f.domain == d for f in gates.failures),
                                     _yes(gates.passed(d))] for d in DOMAINS]
        gate_part = _table(["domain", "covers", "checks evaluated", "failed", "passed"], rows, set(),
                           ["" if r[4] == "yes" else "failed" for r in rows], "gates-table")
        if gates.failures:
            gate_part += "\n" + _table(["domain", "check", "message"],
                                       [[f.domain, f.check, f.message] for f in gates.failures], set(), None,
                                       "gate-failures-table")
    tie_rows: list[list[object]] = [[t.name, t.currency, t.figure, t.against, t.difference, _yes(t.held)]
                                    for t in ties]
    held = sum(t.held for t in ties)
    return f"""<h2 id="tie-outs">Tie-outs</h2>
<p>The gates of night {_e(night.isoformat())} (the checks dbt and the pipeline ran that night, per domain):</p>
{gate_part}
<p>Key tie-outs recomputed in SQL over the published marts ({held} of {len(ties)} held):</p>
{_table(["tie-out", "currency", "figure", "against", "difference", "held"], tie_rows, {2, 3, 4},
        ["" if t.held else "failed" for t in ties], "tie-outs-table")}"""
