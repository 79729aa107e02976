"""The record of a night's gates, ``state/gates/<D>.json``: what each domain's gate decided, and what it lets out.

The gates are decided by ``lifecycle.checks.gates`` (which dbt results and checks failed, in which domain); this
module holds what the rest of the home reads back from their record: the domains, the exports each one lets out,
the ``Gates`` of a night, and the file itself. The exports (``lifecycle.io``), the night's summary,
``lifecycle status``, the close pack and the ops page read it, so it sits with the other files of the home, below
the checks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
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
