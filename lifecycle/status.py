"""``lifecycle status``: what an operator or a monitor asks a home every morning, on one screen.

Everything comes from the home's own records: the published night (read from the published file's
``marts.warehouse_night``, a read-only open that a running night never blocks), each night's gates (``state/gates/<D>.json``), the ingestion reports
(``state/ingest/<D>/<feed>.json``), the landing folder, the export register (``state/register/``) and the
GL files (``exports/gl/<period>/``). It answers while a night runs: the published file is never written.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from lifecycle.checks.gates import DOMAINS, EXPORT_DOMAINS, EXPORT_TITLES, read_gates
from lifecycle.settings import Settings

#: Nights of quarantine counts shown.
QUARANTINE_NIGHTS = 7

def _nights_with(settings: Settings, folder: str) -> list[date]:
    root = settings.state / folder
    nights = []
    for path in root.iterdir() if root.exists() else []:
        try:
            nights.append(date.fromisoformat(path.name.removesuffix(".json")))
        except ValueError:
            continue
    return sorted(nights)


def home_status(settings: Settings) -> dict[str, Any]:
    """The status of a home as plain data (what ``--json`` prints)."""
    from lifecycle.io.lock import running_night
    from lifecycle.io.warehouse import last_published_date

    published = last_published_date(settings)
    gate_nights = _nights_with(settings, "gates")
    latest = gate_nights[-1] if gate_nights else None
    status: dict[str, Any] = {
        "home": str(settings.home),
        "running": running_night(settings),
        "published_night": published.isoformat() if published else None,
        "latest_night": _night(settings, latest, published) if latest else None,
    }
    if settings.warehouse_kind == "spark":  # the night Spark's published link names (a server would need a login)
        from lifecycle.io.spark import published_night as spark_night

        on_spark = spark_night(settings)
        status["spark_published_night"] = on_spark.isoformat() if on_spark else None
    ingested = _nights_with(settings, "ingest")[-QUARANTINE_NIGHTS:]
    feeds: dict[str, list[int | None]] = {}
    for i, night in enumerate(ingested):
        for path in sorted((settings.state / "ingest" / night.isoformat()).glob("*.json")):
            report = json.loads(path.read_text(encoding="utf-8"))
            feeds.setdefault(report["feed"], [None] * len(ingested))[i] = report["rows_quarantined"]
    status["quarantine"] = {"nights": [d.isoformat() for d in ingested], "rows_by_feed": dict(sorted(feeds.items()))}
    following = [d for d in (latest, published) if d is not None]
    upcoming = max(following) + timedelta(days=1) if following else settings.first_night()
    status["next_night"] = None if upcoming is None else {
        "date": upcoming.isoformat(),
        "expected_daily": list(settings.expected_daily),
        "missing": settings.missing_feeds(upcoming),
        "when_missing": settings.when_missing,
    }
    status["register"] = register_status(settings)
    status["gl_periods"] = sorted(p.parent.name for p in settings.exports.glob("gl/*/journal.csv"))
    return status


def _night(settings: Settings, night: date, published: date | None) -> dict[str, Any]:
    gates = read_gates(settings, night)
    state = ("published" if published == night else "withheld" if not gates.all_passed
             else "built, not published")
    withheld = [] if gates.all_passed else ["warehouse"] + [
        e for e, d in EXPORT_DOMAINS.items() if not gates.may_export(d)]
    return {
        "date": night.isoformat(),
        "state": state,
        "gates": {d: {"passed": gates.passed(d), "checks": gates.checks.get(d, 0),
                      "failed": sum(f.domain == d for f in gates.failures)} for d in DOMAINS},
        "failures": [f.as_dict() for f in gates.failures],
        "warnings": [w.as_dict() for w in gates.warnings],
        "withheld": withheld,
        "why": gates.reason() if not gates.all_passed else "",
    }


def register_status(settings: Settings) -> dict[str, dict[str, Any]]:
    """Per export of the register: its last night, the rows of that night, of all nights, and the nights."""
    import pyarrow.parquet as pq

    out = {}
    root = settings.state / "register"
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []:
        files = sorted(folder.glob("*.parquet"))
        if not files:
            continue
        rows = [pq.ParquetFile(f).metadata.num_rows for f in files]
        out[folder.name] = {"last_night": files[-1].stem, "rows_last_night": rows[-1], "rows_total": sum(rows),
                            "nights": len(files)}
    return out


def status_lines(status: dict[str, Any]) -> list[str]:
    """The status as an operator reads it: one screen."""
    lines = [f"home:       {status['home']}"]
    if status["running"]:
        lines.append(f"running:    {status['running']}")
    lines.append(f"published:  night {status['published_night']}" if status["published_night"]
                 else "published:  no night yet")
    if "spark_published_night" in status:
        lines[-1] += f"; on Spark: night {status['spark_published_night'] or 'none yet'}"
    night = status["latest_night"]
    if night is None:
        lines.append("last night: none has run")
    else:
        lines.append(f"last night: {night['date']} {night['state'].upper() if night['state'] == 'withheld' else night['state']}")
        lines.append("  gates:    " + " · ".join(
            f"{d} {'passed' if g['passed'] else 'FAILED'} ({g['checks']} checks)" for d, g in night["gates"].items()))
        for f in night["failures"][:8]:
            lines.append(f"  failed:   {f['domain']}: {f['check']}: {f['message']}")
        if len(night["failures"]) > 8:
            lines.append(f"  … and {len(night['failures']) - 8} more (state/gates/{night['date']}.json)")
        if night["withheld"]:
            lines.append("  withheld: " + ", ".join(EXPORT_TITLES.get(w, w) for w in night["withheld"]))
        for w in night["warnings"]:
            lines.append(f"  WARNING:  {w['check']}: {w['message']}")
    upcoming = status["next_night"]
    if upcoming is not None:
        missing = upcoming["missing"]
        landed = len(upcoming["expected_daily"]) - len(missing)
        lines.append(f"next night: {upcoming['date']}: {landed} of {len(upcoming['expected_daily'])} expected daily "
                     "feeds landed" + (f"; missing {', '.join(missing)} (when missing: {upcoming['when_missing']})"
                                       if missing else ""))
    quarantine = status["quarantine"]
    if quarantine["nights"]:
        nights = quarantine["nights"]
        lines.append("")
        lines.append(f"{'quarantined rows':<20}" + "".join(f"{d[5:]:>7}" for d in nights))
        for feed, counts in quarantine["rows_by_feed"].items():
            if any(counts):
                lines.append(f"{feed:<20}" + "".join(f"{'-' if c is None else c:>7}" for c in counts))
        if not any(any(c) for c in quarantine["rows_by_feed"].values()):
            lines.append("  none")
    if status["register"] or status["gl_periods"]:
        lines.append("")
        lines.append(f"{'last export':<22}{'night':>12}{'rows':>8}{'all nights':>12}")
        for export, r in status["register"].items():
            lines.append(f"{EXPORT_TITLES.get(export, export):<22}{r['last_night']:>12}{r['rows_last_night']:>8}"
                         f"{r['rows_total']:>12}")
        if status["gl_periods"]:
            lines.append(f"{'GL journal':<22}{status['gl_periods'][-1]:>12}  periods {', '.join(status['gl_periods'])}")
    return lines
