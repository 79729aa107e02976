"""Per-domain gates: which of tonight's checks failed, in which domain, and what may leave the home.

Every check belongs to a domain (DOMAIN "Gates are per domain"):

- ``foundation``: ingestion, staging, subscriptions and terms;
- ``billing``: billing & communications (invoices, cash, efforts, requests, renewals, the outbox);
- ``fulfillment``: fulfillment & access (manifests, draws, digital access, continuity, inventory);
- ``finance``: revenue and the ledger (schedule, journal, reports, the closed-period audit).

A dbt model's domain is ``meta.domain`` in ``dbt_project.yml``; a test belongs to the domain of the
model it is attached to unless it names its own (singular tests, by their folder); a unit test to
the model it tests. The warehouse is published only when every gate passed. When it is withheld, an
export is still written from tonight's audited build when the foundation gate and its own domain's
gate passed: the printer gets its labels when the ledger does not tie.

``state/gates/<D>.json`` records night D's gates; the exports, the summary and the ops page read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lifecycle.settings import Settings

DOMAINS: dict[str, str] = {
    "foundation": "foundation (ingestion, staging, terms)",
    "billing": "billing & communications",
    "fulfillment": "fulfillment & access",
    "finance": "finance (revenue and ledger)",
}

#: The domain of each export (its register name), i.e. the gate it waits for besides the foundation's.
EXPORT_DOMAINS: dict[str, str] = {
    "autocharge_requests": "billing",
    "refund_requests": "billing",
    "outbox_messages": "billing",
    "notice_mail": "billing",
    "manifest_lines": "fulfillment",
    "access_changes": "fulfillment",
    "gl_journal": "finance",
}

#: What each export is called on a screen (the night's summary, ``lifecycle status``), by register name.
EXPORT_TITLES: dict[str, str] = {
    "autocharge_requests": "autocharge requests", "refund_requests": "refund requests",
    "outbox_messages": "outbox messages", "notice_mail": "notice letters", "manifest_lines": "manifests",
    "draws": "issue draws", "access_changes": "access changes", "gl_journal": "GL journal",
}

#: Checks that judge the export files once written (lifecycle/assets/exports.py): a failure withholds the warehouse.
AFTER_EXPORT = {"circulation_matches_register", "register_matches_the_files"}

#: dbt statuses that close a gate. ``warn`` does not: a warning test is reported, never blocking.
FAILING = {"error", "fail", "runtime error", "skipped"}


class Withheld(Exception):
    """Night D has nothing audited to export for a domain: not published, and its gates did not pass."""


@dataclass
class Failure:
    domain: str
    check: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"domain": self.domain, "check": self.check, "message": self.message}


@dataclass
class Gates:
    business_date: date
    failures: list[Failure] = field(default_factory=list)
    checks: dict[str, int] = field(default_factory=dict)  # checks evaluated per domain
    #: what the night ran despite, never blocking: expected daily files that did not land ([feeds] when_missing =
    #: "warn")
    warnings: list[Failure] = field(default_factory=list)

    def passed(self, domain: str) -> bool:
        return not any(f.domain == domain for f in self.failures)

    @property
    def all_passed(self) -> bool:
        return not self.failures

    def may_export(self, domain: str) -> bool:
        """Whether the exports of ``domain`` go out: its gate and the foundation's passed, not counting the checks
        that judge the files once written (they withhold the warehouse, not what was already sent)."""
        return not any(f.domain in ("foundation", domain) and f.check not in AFTER_EXPORT for f in self.failures)

    def failed_domains(self) -> list[str]:
        return [d for d in DOMAINS if not self.passed(d)]

    def reason(self, domain: str | None = None) -> str:
        """Why ``domain`` (or the warehouse, when None) is withheld, naming the first failing check of each gate."""
        domains = self.failed_domains() if domain is None else [d for d in ("foundation", domain) if not self.passed(d)]
        parts = []
        for d in domains:
            failed = [f for f in self.failures if f.domain == d]
            more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
            parts.append(f"{d} gate failed: {failed[0].check} ({failed[0].message}){more}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(),
            "gates": {d: {"passed": self.passed(d), "checks": self.checks.get(d, 0),
                          "failed": sum(f.domain == d for f in self.failures)} for d in DOMAINS},
            "failures": [f.as_dict() for f in self.failures],
            "warnings": [w.as_dict() for w in self.warnings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gates:
        checks = {d: g["checks"] for d, g in data["gates"].items() if g["checks"]}
        return cls(date.fromisoformat(data["business_date"]),
                   [Failure(f["domain"], f["check"], f["message"]) for f in data["failures"]], checks,
                   [Failure(w["domain"], w["check"], w["message"]) for w in data.get("warnings", [])])


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


# -- the record of a night ------------------------------------------------------------------------

def ingest_warnings(settings: Settings, night: date) -> list[Failure]:
    """The foundation's warnings of night D, from its ingestion reports (``state/ingest/<D>/<feed>.json``)."""
    warnings = []
    for path in sorted((settings.state / "ingest" / night.isoformat()).glob("*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        if report.get("expected_missing"):
            warnings.append(Failure("foundation", "expected_feed_missing",
                                    f"landing/{report['feed']}/{night}.csv did not land; the night ran without it"))
    return warnings


def gates_path(settings: Settings, night: date) -> Path:
    return settings.state / "gates" / f"{night.isoformat()}.json"


def write_gates(settings: Settings, gates: Gates) -> Path:
    path = gates_path(settings, gates.business_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(gates.as_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_gates(settings: Settings, night: date) -> Gates | None:
    path = gates_path(settings, night)
    if not path.exists():
        return None
    return Gates.from_dict(json.loads(path.read_text(encoding="utf-8")))


def audited_source(settings: Settings, night: date, export: str) -> Path:
    """The warehouse file an export of night D reads: the published one when D is the published night,
    else tonight's build when D is newer than the published night and the export's gates passed.

    Raises ``Withheld`` saying why nothing is exported otherwise.
    """
    from lifecycle.io.warehouse import last_published_date

    domain = EXPORT_DOMAINS[export]
    published = last_published_date(settings)
    if published == night:
        return settings.warehouse
    if published is not None and night < published:
        raise Withheld(f"night {night} is older than the published night {published}; nothing is exported "
                       "from it")
    gates = read_gates(settings, night)
    if gates is None or not settings.build_warehouse.exists():
        raise Withheld(f"night {night} has not been built and audited; nothing is exported from it")
    if not gates.may_export(domain):
        raise Withheld(f"{export} withheld for night {night}: {gates.reason(domain)}")
    return settings.build_warehouse
