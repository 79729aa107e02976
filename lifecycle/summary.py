"""What the terminal shows of nights and of a home: the night's line and its gates, the home's summary (feeds
read, the published tables, each night's exports and gates, the export register, where the files are), and the
demo's first rows of the published reports.

``lifecycle nightly``, ``backfill`` and ``demo`` print these; the figures come from the home's records
(``state/ingest``, ``state/gates``, the export files' ``control.json``, the register) and, for the tables and the
demo's rows, from the published warehouse. ``lifecycle status`` (lifecycle/status.py) is the same home at a
glance for an operator; the report files (``lifecycle report``) are written by lifecycle/reports.py and
lifecycle/close_pack.py.
"""

from __future__ import annotations

import json
from datetime import date

from lifecycle.checks.gates import DOMAINS, EXPORT_DOMAINS, EXPORT_TITLES, Gates, read_gates
from lifecycle.pipelines.night import NightOutcome
from lifecycle.settings import Settings


def ingest_summary(settings: Settings, days: list[date] | None = None) -> dict[str, dict[str, int]]:
    """Rows read, accepted and quarantined per feed over the given nights (all nights when None)."""
    totals: dict[str, dict[str, int]] = {}
    root = settings.state / "ingest"
    if not root.exists():
        return totals
    wanted = {d.isoformat() for d in days} if days else None
    for night_dir in sorted(root.iterdir()):
        if wanted is not None and night_dir.name not in wanted:
            continue
        for report_path in sorted(night_dir.glob("*.json")):
            report = json.loads(report_path.read_text(encoding="utf-8"))
            t = totals.setdefault(report["feed"], {"files": 0, "rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0})
            t["files"] += 1 if report["file"] else 0
            for k in ("rows_read", "rows_accepted", "rows_quarantined"):
                t[k] += report[k]
    return totals


#: The nightly export files the summary counts: (folder, count field of control.json, column title).
SUMMARY_EXPORTS = (
    ("autocharge", "requests", "autocharge requests"),
    ("refunds", "requests", "refund requests"),
    ("outbox", "messages", "outbox messages"),
    ("notices", "letters", "notice letters"),
    ("manifests", "copies", "manifest copies"),
    ("access", "changes", "access changes"),
)


def export_summary(settings: Settings, days: list[date] | None = None) -> dict[str, tuple[str, ...]]:
    """Rows of each night's export files (from their control totals), by night, in SUMMARY_EXPORTS order."""
    out: dict[str, tuple[str, ...]] = {}
    nights = sorted({p.parent.name for export, _, _ in SUMMARY_EXPORTS
                     for p in (settings.exports / export).glob("*/control.json")})
    for night in nights:
        if days is not None and night not in {d.isoformat() for d in days}:
            continue
        counts = []
        for export, field_name, _ in SUMMARY_EXPORTS:
            control = settings.exports / export / night / "control.json"
            counts.append(str(json.loads(control.read_text(encoding="utf-8"))[field_name]) if control.exists() else "-")
        out[night] = tuple(counts)
    return out


def gate_lines(gates: Gates) -> list[str]:
    """The gates of a night as an operator reads them: which held, which failed and on what, what went out."""
    lines = ["gates:    " + " · ".join(
        f"{d} {'passed' if gates.passed(d) else 'FAILED'} ({gates.checks.get(d, 0)} checks)" for d in DOMAINS)]
    for f in gates.failures[:10]:
        lines.append(f"  {f.domain} gate: {f.check}: {f.message}")
    if len(gates.failures) > 10:
        lines.append(f"  … and {len(gates.failures) - 10} more failures (state/gates/{gates.business_date}.json)")
    for w in gates.warnings:
        lines.append(f"  WARNING {w.check}: {w.message}")
    if not gates.all_passed:
        sent = [EXPORT_TITLES[e] for e, d in EXPORT_DOMAINS.items() if gates.may_export(d)]
        held = [EXPORT_TITLES[e] for e, d in EXPORT_DOMAINS.items() if not gates.may_export(d)]
        lines.append("written:  " + (", ".join(sent) or "nothing") + " (their own gates and foundation's passed)")
        lines.append("withheld: the warehouse" + "".join(f", {t}" for t in held)
                     + " (the next night catches up whatever is due and not in the register)")
    return lines


def print_night(outcome: NightOutcome) -> None:
    state = "published" if outcome.published else ("built, not published" if outcome.success else "WITHHELD")
    print(f"night {outcome.business_date}: {state} in {outcome.seconds:.1f}s"
          + (f" ({outcome.reason})" if outcome.reason and not outcome.published else ""))
    if outcome.gates is not None:
        for line in gate_lines(outcome.gates):
            print(f"  {line}")
    for step, message in outcome.failures:
        print(f"  failed: {step}: {message}")


def print_summary(settings: Settings, days: list[date] | None = None) -> None:
    from lifecycle.io.warehouse import published_record
    from lifecycle.status import register_status

    totals = ingest_summary(settings, days)
    print()
    print(f"{'feed':<20}{'files':>7}{'read':>11}{'accepted':>11}{'quarantined':>13}")
    for feed_name, t in totals.items():
        print(f"{feed_name:<20}{t['files']:>7}{t['rows_read']:>11}{t['rows_accepted']:>11}{t['rows_quarantined']:>13}")
    record = published_record(settings)
    print()
    if record is None:
        print("No night published yet.")
    else:
        print(f"Published night {record['business_date']}: {settings.warehouse} ({len(record['tables'])} tables)")
        for table, rows in record["tables"].items():
            print(f"  {table:<45}{rows:>10} rows")
    exports = export_summary(settings, days)
    if exports:
        print()
        print(f"{'exports':<12}" + "".join(f"{title:>21}" for _, _, title in SUMMARY_EXPORTS))
        for night, counts in exports.items():
            print(f"{night:<12}" + "".join(f"{count:>21}" for count in counts))
        folders = "|".join(export for export, _, _ in SUMMARY_EXPORTS)
        print(f"  files under {settings.exports}/<{folders}>/<date>/, recorded in {settings.state}/register/")
    gate_nights = sorted(date.fromisoformat(p.stem) for p in (settings.state / "gates").glob("*.json"))
    gate_nights = [d for d in gate_nights if days is None or d in days]
    if gate_nights:
        print()
        print(f"{'gates':<12}" + "".join(f"{d:>13}" for d in DOMAINS) + f"{'warehouse':>13}")
        for night in gate_nights:
            gates = read_gates(settings, night)
            cells = ["passed" if gates.passed(d) else "FAILED" for d in DOMAINS]
            state = "published" if gates.all_passed else "withheld"
            print(f"{night.isoformat():<12}" + "".join(f"{c:>13}" for c in cells) + f"{state:>13}")
        print(f"  each night's failing checks: {settings.state}/gates/<date>.json")
    registered = register_status(settings)
    if registered:
        print()
        print("Export register (what counts as sent; the next night sends only what is due and not in it):")
        for export, r in registered.items():
            print(f"  {export:<22}{r['rows_total']:>9} rows over {r['nights']} nights")
    gl = sorted(p.parent.name for p in settings.exports.glob("gl/*/journal.csv"))
    if gl:
        print(f"GL journal:  {settings.exports}/gl/<period>/journal.csv for {', '.join(gl)}")
    print()
    print(f"Home:        {settings.home}")
    print(f"Landing:     {settings.landing}/<feed>/<date>.csv")
    print(f"Raw:         {settings.raw}/<feed>/recorded_date=<date>/data.parquet")
    print(f"Quarantine:  {settings.quarantine}/<feed>/recorded_date=<date>/data.parquet "
          "(also marts.fct_quarantined_rows)")
    print(f"Run logs:    {settings.state}/logs/nightly-<date>.log (dbt's output; `make ui` shows every event)")
    print(f"Query:       .venv/bin/lifecycle --home {settings.home} sql \"select * from marts.rpt_feed_quality\"")


#: What `lifecycle demo` shows of the published warehouse: (title, query).
DEMO_REPORTS = (
    ("Tax payable, open period, by country (marts.rpt_tax_payable)",
     "select period, country, currency, tax_invoiced, tax_reversed, closing_tax_payable from marts.rpt_tax_payable "
     "where period = (select max(period) from marts.rpt_tax_payable) order by country, currency"),
    ("Circulation of the latest issues (marts.rpt_circulation_by_issue)",
     "select issue_id, country, paid_copies as paid, unpaid_allowed_copies as unpaid_allowed, graced_copies as graced, "
     "complimentary_copies as complimentary, reship_copies as reship, total_copies as total, issue_draw "
     "from marts.rpt_circulation_by_issue where issue_id in (select issue_id from marts.rpt_circulation_by_issue "
     "group by 1 order by max(ship_date) desc, 1 limit 3) order by issue_id, country"),
    ("Refund decisions and the processor's answers; open = still owed on refunds payable (marts.fct_refund_answers)",
     "select answer_status, currency, count(*) as refunds, sum(requested_amount) as requested, "
     "sum(answered_amount) as answered from marts.fct_refund_answers group by all order by 1, 2"),
)


def last_published(settings: Settings) -> date | None:
    from lifecycle.io.warehouse import last_published_date

    return last_published_date(settings)


def print_demo_reports(settings: Settings) -> None:
    """A few rows of the reports an operator opens first, from the published warehouse."""
    from lifecycle.io.warehouse import connect_published

    con = connect_published(settings)
    try:
        for title, query in DEMO_REPORTS:
            print()
            print(title)
            con.sql(query).show(max_rows=20, max_width=160)
    finally:
        con.close()
    print(f"More: .venv/bin/lifecycle --home {settings.home} sql \"select * from marts.rpt_circulation_by_issue\"")
