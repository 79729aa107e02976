"""Per-domain gates: which of tonight's checks failed, in which domain, and what may leave the home.

Every check belongs to a domain (docs/invariants.md, "How checks are run and judged"):

- ``foundation``: ingestion, staging, subscriptions and terms;
- ``billing``: billing & communications (invoices, cash, efforts, requests, renewals, the outbox);
- ``fulfillment``: fulfillment & access (manifests, draws, digital access, continuity, inventory);
- ``finance``: revenue and the ledger (schedule, journal, reports, the closed-period audit).

A dbt model's domain is ``meta.domain`` in ``dbt_project.yml``; a test belongs to the domain of the
model it is attached to unless it names its own (singular tests, by their folder); a unit test to
the model it tests. The warehouse is published only when every gate passed. When it is withheld, an
export is still written from tonight's audited build when the foundation gate and its own domain's
gate passed: the printer gets its labels when the ledger does not tie.

``state/gates/<D>.json`` records night D's gates; the exports, the summary and the ops page read it. The record
(the domains, ``Gates``, reading and writing the file) lives in ``lifecycle.io.gate_records``, below both the
checks and the exports, and is imported here under its usual names; the warehouse an export reads
(``audited_source``) is in ``lifecycle.io.warehouse``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from lifecycle.io.gate_records import (
    AFTER_EXPORT,
    DOMAINS,
    EXPORT_DOMAINS,
    EXPORT_TITLES,
    Failure,
    Gates,
    Withheld,
    gates_path,
    read_gates,
    write_gates,
)
from lifecycle.settings import Settings

__all__ = [
    "AFTER_EXPORT", "DOMAINS", "EXPORT_DOMAINS", "EXPORT_TITLES", "FAILING", "Failure", "Gates", "Withheld",
    "evaluate_dbt", "gates_path", "ingest_warnings", "node_domain", "read_gates", "undomained_nodes", "write_gates",
]

#: dbt statuses that close a gate. ``warn`` does not: a warning test is reported, never blocking.
FAILING = {"error", "fail", "runtime error", "skipped"}


# -- domains of dbt nodes -------------------------------------------------------------------------

def node_domain(manifest: Mapping[str, Any], unique_id: str) -> str | None:
    """The domain of a model, seed, test or unit test of the dbt manifest (None when nothing names one)."""
    if unique_id in manifest.get("unit_tests", {}):
        node = manifest["unit_tests"][unique_id]
        models = [n for n in node.get("depends_on", {}).get("nodes", []) if n.startswith("model.")]
        return node_domain(manifest, models[0]) if models else None
    node = manifest["nodes"].get(unique_id)
    if node is None:
        return None
    own = (node.get("config", {}).get("meta") or {}).get("domain") or (node.get("meta") or {}).get("domain")
    if own:
        return own
    if node["resource_type"] == "test":
        attached = node.get("attached_node")
        if attached:
            return node_domain(manifest, attached)
    return None


def undomained_nodes(manifest: Mapping[str, Any]) -> list[str]:
    """Models, seeds, tests and unit tests of this project that belong to no known domain."""
    ids = [uid for uid, n in manifest["nodes"].items()
           if n["resource_type"] in ("model", "seed", "test") and n.get("package_name") == manifest["metadata"].get(
               "project_name", n.get("package_name"))]
    ids += list(manifest.get("unit_tests", {}))
    return sorted(uid for uid in ids if node_domain(manifest, uid) not in DOMAINS)


def _check_name(manifest: Mapping[str, Any], unique_id: str) -> str:
    node = manifest.get("unit_tests", {}).get(unique_id) or manifest["nodes"].get(unique_id) or {}
    name = node.get("name", unique_id)
    return f"unit test {node.get('model')}.{name}" if node.get("resource_type") == "unit_test" else name


def evaluate_dbt(business_date: date, manifest: Mapping[str, Any],
                 results: Iterable[Mapping[str, Any]]) -> Gates:
    """Gates from the ``results`` of dbt's run_results.json files (models built, then tests)."""
    gates = Gates(business_date)
    for r in results:
        uid = r["unique_id"]
        domain = node_domain(manifest, uid) or "foundation"  # unknown: hold everything back
        if uid.startswith(("test.", "unit_test.")):
            gates.checks[domain] = gates.checks.get(domain, 0) + 1
        if r["status"] in FAILING:
            failures = r.get("failures")
            message = (r.get("message") or r["status"]).strip().splitlines()[0][:300]
            if failures:
                message = f"{failures} failing row{'s' if failures != 1 else ''}"
            gates.failures.append(Failure(domain, _check_name(manifest, uid), message))
    return gates


# -- warnings --------------------------------------------------------------------------------------

def ingest_warnings(settings: Settings, night: date) -> list[Failure]:
    """The foundation's warnings of night D, from its ingestion reports (``state/ingest/<D>/<feed>.json``)."""
    warnings = []
    for path in sorted((settings.state / "ingest" / night.isoformat()).glob("*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        if report.get("expected_missing"):
            warnings.append(Failure("foundation", "expected_feed_missing",
                                    f"landing/{report['feed']}/{night}.csv did not land; the night ran without it"))
    return warnings
