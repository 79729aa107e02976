"""Print manifests and draws: the night's label files for shippers and print orders for printers.

* ``exports/manifests/<D>/<shipper_id>/<issue_id>.csv``: one line per copy to ship, the lines of
  ``marts.fct_manifest_lines`` not in an earlier night's register (export ``manifest_lines``), sorted by
  postal code then ``manifest_line_id``. On an issue's list-close night that is its main manifest; on
  each later night until its ship date, the supplementary manifest (copies entitled since).
* ``exports/manifests/<D>/<shipper_id>/control.json``: control totals per file and for the shipper
  (lines, copies, copies per country); ``exports/manifests/<D>/control.json`` totals the night.
* ``exports/draws/<D>/<printer_id>.csv``: the print order per issue: copies on tonight's manifests,
  spoilage allowance = ceil(copies × spoilage_percent / 100) (rounded up: a printer never runs short),
  total draw = copies + allowance.

Manifest columns (``MANIFEST_COLUMNS``): manifest_line_id, issue_id, ship_date, subscription_id,
customer_id, quantity (copies), name, organisation, address_line1, address_line2, city, region,
postal_code, country, entitlement_kind (paid, unpaid_allowed, graced, complimentary or reship), copy_kind
(entitled, graced, complimentary or reship: what a circulation statement counts). A complimentary or reshipped
copy is a line of its own keyed by its service action (``<service_action_id>:<issue_id>``); a reship of an
issue that already shipped rides the publication's next manifest but stays in the file of its own issue.
Every field is quoted and every text cell that a spreadsheet would read as a formula is neutralised
(``spreadsheet_safe``).

Which printer prints a copy: the shipper it is routed to when that shipper is a printer, else the first
printer by shipper_id (the reference data does not say yet which printer serves which mailing house).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import ROUND_CEILING, Decimal

import pyarrow as pa

from lifecycle import failpoints
from lifecycle.io import register
from lifecycle.io.exports import ExportResult, _csv_text, _unsent, _write_atomic, _write_control, cell_text
from lifecycle.io.warehouse import audited_source, connect_published
from lifecycle.settings import Settings

MANIFEST_COLUMNS = (
    "manifest_line_id", "issue_id", "ship_date", "subscription_id", "customer_id", "quantity", "name",
    "organisation", "address_line1", "address_line2", "city", "region", "postal_code", "country",
    "entitlement_kind", "copy_kind",
)
DRAW_COLUMNS = ("issue_id", "product_id", "ship_date", "copies", "spoilage_percent", "spoilage_allowance",
                "total_draw")
#: fct_manifest_lines columns in MANIFEST_COLUMNS order, then what grouping and the register need.
_SELECT = (
    "select manifest_line_id, issue_id, ship_date, subscription_id, customer_id, quantity, ship_to_name, "
    "ship_to_organisation, address_line1, address_line2, city, region, postal_code, country, entitlement_kind, "
    "copy_kind, shipper_id, product_id, term_number, list_close_date from marts.fct_manifest_lines where ship_date >= ?"
)
_SHIPPER, _PRODUCT, _TERM, _LIST_CLOSE = 16, 17, 18, 19


def _legacy_lines(settings: Settings, night: date, rows: list[tuple]) -> list[tuple]:
    """On the first manifest night of a migrated home, the lines of issues whose list closed before the cut-over:
    the legacy system built those manifests (docs/computations.md, "Migration and cut-over"). They are recorded as
    a baseline (delivered, never sent again) but not written to tonight's files; later nights send only new
    copies."""
    cutover = settings.cutover_date
    if cutover is None or any(n < night for n, _ in register._nights(settings, "manifest_lines")):
        return []
    return [r for r in rows if r[_LIST_CLOSE] < cutover]


def _totals(rows: list[tuple]) -> dict:
    by_country: Counter[str] = Counter()
    for r in rows:
        by_country[r[13] or ""] += r[5]
    return {"lines": len(rows), "copies": sum(r[5] for r in rows),
            "copies_by_country": dict(sorted(by_country.items()))}


def spoilage_allowance(copies: int, spoilage_percent: Decimal) -> int:
    """ceil(copies × spoilage_percent / 100), exact: 2.5 % of 41 copies is 1.025, so 2 extra copies."""
    return int((Decimal(copies) * spoilage_percent / 100).to_integral_value(rounding=ROUND_CEILING))


def _printers(settings: Settings, night: date) -> dict[str, Decimal]:
    con = connect_published(audited_source(settings, night, "manifest_lines"))
    try:
        return dict(con.execute(
            "select shipper_id, spoilage_percent from staging.stg_shippers where is_current and role = 'printer' "
            "order by shipper_id"
        ).fetchall())
    finally:
        con.close()


def export_manifests(settings: Settings, night: date) -> ExportResult:
    """Write night D's manifests per shipper and issue, their control totals and the printers' draws."""
    unsent = _unsent(settings, night, "manifest_lines", "manifest_line_id", _SELECT)
    legacy = _legacy_lines(settings, night, unsent)
    legacy_ids = {r[0] for r in legacy}
    rows = [r for r in unsent if r[0] not in legacy_ids]
    rows.sort(key=lambda r: (r[_SHIPPER], r[1], r[12] or "", r[0]))
    folder = settings.exports / "manifests" / night.isoformat()
    recorded = rows + sorted(legacy, key=lambda r: r[0])
    staged = register.stage(
        settings, "manifest_lines", night,
        pa.table({
            "manifest_line_id": pa.array([r[0] for r in recorded], pa.string()),
            "issue_id": pa.array([r[1] for r in recorded], pa.string()),
            "ship_date": pa.array([r[2] for r in recorded], pa.date32()),
            "subscription_id": pa.array([r[3] for r in recorded], pa.string()),
            "term_number": pa.array([r[_TERM] for r in recorded], pa.int32()),
            "quantity": pa.array([r[5] for r in recorded], pa.int32()),
            "country": pa.array([r[13] for r in recorded], pa.string()),
            "shipper_id": pa.array([r[_SHIPPER] for r in recorded], pa.string()),
            "list_close_date": pa.array([r[_LIST_CLOSE] for r in recorded], pa.date32()),
            "baseline": pa.array([r[0] in legacy_ids for r in recorded], pa.bool_()),
            "product_id": pa.array([r[_PRODUCT] for r in recorded], pa.string()),
            "entitlement_kind": pa.array([r[14] for r in recorded], pa.string()),
            "copy_kind": pa.array([r[15] for r in recorded], pa.string()),
        }),
        key="manifest_line_id",
    )
    by_file: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for r in rows:
        by_file[(r[_SHIPPER], r[1])].append(r)
    by_shipper: dict[str, dict] = defaultdict(dict)
    for (shipper, issue), lines in by_file.items():
        table = [list(MANIFEST_COLUMNS), *([cell_text(v) for v in r[:16]] for r in lines)]
        _write_atomic(folder / shipper / f"{issue}.csv", _csv_text(table, for_spreadsheets=True))
        by_shipper[shipper][issue] = _totals(lines)
    for shipper, files in by_shipper.items():
        shipper_rows = [r for r in rows if r[_SHIPPER] == shipper]
        _write_control(folder / shipper, {"business_date": night.isoformat(), "shipper_id": shipper,
                                          **_totals(shipper_rows), "files": {f"{i}.csv": t for i, t in files.items()}})
    draws, staged_draws = _write_draws(settings, night, rows)
    control = {"business_date": night.isoformat(), **_totals(rows),
               "by_shipper": {s: sum(t["copies"] for t in f.values()) for s, f in sorted(by_shipper.items())},
               "draws": draws}
    if legacy:
        control["legacy_baseline_lines"] = len(legacy)
    failpoints.reach("mid_export")
    _write_control(folder, control)  # last: the night's manifests and draws are complete
    if staged_draws is not None:
        register.commit(staged_draws)
    register.commit(staged)
    return ExportResult(folder, len(rows), control)


def _write_draws(settings: Settings, night: date, rows: list[tuple]) -> tuple[dict[str, int], register.Staged | None]:
    """One draw per printer with copies tonight; returns the total draw per printer and the draws' register rows,
    staged (the manifests' control file, written after, completes them)."""
    printers = _printers(settings, night)
    if not printers:
        return {}, None
    default = min(printers)
    copies: dict[str, dict[tuple[str, str, date], int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        printer = r[_SHIPPER] if r[_SHIPPER] in printers else default
        copies[printer][(r[1], r[_PRODUCT], r[2])] += r[5]
    totals = {}
    files: dict[str, list[list[str]]] = {}
    drawn: list[tuple[str, str, str, int, int]] = []  # (printer, issue, product, copies, allowance)
    for printer, by_issue in sorted(copies.items()):
        lines, total = [list(DRAW_COLUMNS)], 0
        for (issue, product, ship_date), n in sorted(by_issue.items()):
            allowance = spoilage_allowance(n, printers[printer])
            lines.append([issue, product, ship_date.isoformat(), str(n), f"{printers[printer].normalize():f}",
                          str(allowance), str(n + allowance)])
            drawn.append((printer, issue, product, n, allowance))
            total += n + allowance
        files[printer] = lines
        totals[printer] = total
    staged = register.stage(
        settings, "draws", night,
        pa.table({
            "draw_line_id": pa.array([f"{night.isoformat()}:{p}:{i}" for p, i, *_ in drawn], pa.string()),
            "printer_id": pa.array([d[0] for d in drawn], pa.string()),
            "issue_id": pa.array([d[1] for d in drawn], pa.string()),
            "product_id": pa.array([d[2] for d in drawn], pa.string()),
            "copies": pa.array([d[3] for d in drawn], pa.int32()),
            "spoilage_allowance": pa.array([d[4] for d in drawn], pa.int32()),
            "total_draw": pa.array([d[3] + d[4] for d in drawn], pa.int32()),
        }),
        key="draw_line_id",
    )
    for printer, lines in files.items():
        _write_atomic(settings.exports / "draws" / night.isoformat() / f"{printer}.csv",
                      _csv_text(lines, for_spreadsheets=True))
    return totals, staged


CIRCULATION_COLUMNS = ("paid_copies", "unpaid_allowed_copies", "graced_copies", "complimentary_copies",
                       "reship_copies", "total_copies")


def circulation_differences(settings: Settings, night: date) -> list[str]:
    """Circulation per issue = the manifest lines of that issue in the register (docs/invariants.md, "Fulfillment
    and access").

    Compares ``marts.rpt_circulation_by_issue`` of night D's audited warehouse with the register after D's
    export (every night up to D): copies per issue, country and kind, and the draw per issue. Returns one line
    per difference (empty when they agree).
    """
    import duckdb

    con = connect_published(audited_source(settings, night, "manifest_lines"))
    try:
        report = {
            (r[0], r[1]): r[2:]
            for r in con.execute(
                f"select issue_id, country, {', '.join(CIRCULATION_COLUMNS)}, issue_draw "
                "from marts.rpt_circulation_by_issue").fetchall()
        }
    finally:
        con.close()
    files = [str(p) for n, p in register._nights(settings, "manifest_lines") if n <= night]
    draw_files = [str(p) for n, p in register._nights(settings, "draws") if n <= night]
    sent: dict[tuple[str, str], tuple] = {}
    with duckdb.connect() as db:
        if files:
            kinds = ("sum(quantity) filter (where entitlement_kind = 'paid'), "
                     "sum(quantity) filter (where entitlement_kind = 'unpaid_allowed'), "
                     "sum(quantity) filter (where copy_kind = 'graced'), "
                     "sum(quantity) filter (where copy_kind = 'complimentary'), "
                     "sum(quantity) filter (where copy_kind = 'reship'), sum(quantity)")
            drawn = dict(db.execute(
                "select issue_id, sum(total_draw) from read_parquet(?, union_by_name = true) group by 1",
                [draw_files]).fetchall()) if draw_files else {}
            for issue, country, *counts in db.execute(
                    f"select issue_id, coalesce(country, ''), {kinds} "
                    "from read_parquet(?, union_by_name = true) group by all", [files]).fetchall():
                sent[(issue, country)] = (*(c or 0 for c in counts), drawn.get(issue, 0))
    return [f"issue {key[0]} {key[1] or '(no country)'}: circulation says {_counts(report.get(key))}; "
            f"the register holds {_counts(sent.get(key))}"
            for key in sorted(set(report) | set(sent)) if report.get(key) != sent.get(key)]


def _counts(values: tuple | None) -> str:
    if values is None:
        return "nothing"
    return ", ".join(f"{label} {n}" for label, n in zip((*CIRCULATION_COLUMNS, "issue_draw"), values, strict=True))
