"""``exports/access/<D>/changes.csv``: digital access grants and revocations for the gatekeeper
(docs/computations.md, "Digital access").

Tonight's entitlements (``marts.fct_access_entitlements``) are compared with the last set sent, which
the export register holds: a key (customer:product) not granted yet, or granted with another access
end, is granted; a key granted and no longer entitled is revoked. The register is the state, so a
skipped night is caught up by the next one and a rerun of a night rewrites the same bytes.

On the cut-over night with nothing sent before, the set is recorded as the baseline and nothing is
sent: the legacy gatekeeper already holds it (docs/computations.md, "Migration and cut-over": no access
changes for the past).
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from lifecycle.io import register
from lifecycle.io.exports import (
    ExportResult,
    _csv_text,
    _write_atomic,
    _write_control,
    cell_text,
)
from lifecycle.io.warehouse import audited_source, connect_published
from lifecycle.settings import Settings

EXPORT = "access_changes"
COLUMNS = ("action", "customer_id", "product_id", "access_start", "access_end")


def _granted(earlier: list[dict]) -> dict[str, str]:
    """The access end last sent per granted key, from earlier nights' register rows."""
    state: dict[str, str] = {}
    for r in sorted(earlier, key=lambda r: (r["night"], r["access_key"])):
        if r["action"] == "revoke":
            state.pop(r["access_key"], None)
        else:  # grant or baseline
            state[r["access_key"]] = r["access_end"] or ""
    return state


def export_access_changes(settings: Settings, night: date) -> ExportResult:
    """Write tonight's grants and revocations, record them, and return the file with its control totals."""
    con = connect_published(audited_source(settings, night, EXPORT))
    try:
        entitled = {
            key: (customer, product, start, end)
            for key, customer, product, start, end in con.execute(
                "select access_key, customer_id, product_id, access_start, access_end "
                "from marts.fct_access_entitlements order by access_key"
            ).fetchall()
        }
    finally:
        con.close()
    table = register.read_register(settings, EXPORT)
    earlier = [r for r in table.to_pylist() if r["night"] < night] if table is not None else []
    granted = _granted(earlier)
    baseline = not earlier and settings.cutover_date == night

    changes: list[tuple[str, str, tuple]] = []  # (action, key, entitlement)
    if baseline:
        recorded = [("baseline", key, value) for key, value in entitled.items()]
    else:
        for key, value in entitled.items():
            if granted.get(key) != cell_text(value[3]):
                changes.append(("grant", key, value))
        for key in sorted(set(granted) - set(entitled)):
            customer, product = key.split(":", 1)
            changes.append(("revoke", key, (customer, product, None, None)))
        recorded = changes
    changes.sort(key=lambda c: (c[2][0], c[2][1], c[0]))

    folder = settings.exports / "access" / night.isoformat()
    lines = [list(COLUMNS)] + [[action, v[0], v[1], cell_text(v[2]), cell_text(v[3])] for action, _, v in changes]
    staged = register.stage(
        settings, EXPORT, night,
        pa.table({
            "change_id": pa.array([f"{key}:{action}:{night.isoformat()}" for action, key, _ in recorded], pa.string()),
            "access_key": pa.array([key for _, key, _ in recorded], pa.string()),
            "action": pa.array([action for action, _, _ in recorded], pa.string()),
            "access_end": pa.array([cell_text(v[3]) for _, _, v in recorded], pa.string()),
        }),
        key="change_id",
    )
    path = folder / "changes.csv"
    _write_atomic(path, _csv_text(lines))
    control = {
        "business_date": night.isoformat(),
        "file": "changes.csv",
        "changes": len(changes),
        "grants": sum(1 for c in changes if c[0] == "grant"),
        "revocations": sum(1 for c in changes if c[0] == "revoke"),
        "entitled": len(entitled),
        "baseline": baseline,
    }
    _write_control(folder, control)
    register.commit(staged)
    return ExportResult(path, len(changes), control)
