"""One line per stage of a night as it finishes: ingest, engines, build, tests, exports, publish.

Listens to the run's events (``DagsterInstance.add_event_listener``): each step's seconds, and the row counts
its assets report. Steps run one after another in dependency order, so a stage is over when a step of a
later stage starts; the engines run between the dbt steps, so the build and engine lines come together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STAGES = ("ingest", "engines", "build", "tests", "exports", "publish")
#: Stages that run interleaved share a phase: a stage's line is printed once a step of a later phase starts.
#: the publication steps of the other warehouse kinds (lifecycle/assets/server.py), and where they publish
SERVER_STEPS = {"postgres_warehouse": "PostgreSQL", "spark_warehouse": "Spark"}
PHASE = {"ingest": 0, "engines": 1, "build": 1, "tests": 2, "exports": 3, "publish": 4}


def stage_of(step_key: str) -> str:
    if step_key == "ingest_feeds":
        return "ingest"
    if step_key.startswith("engine__"):
        return "engines"
    if step_key.startswith(("warehouse_step_", "pipeline__night")):
        return "build"
    if step_key == "night_gates":
        return "tests"
    if step_key in ("published_warehouse", *SERVER_STEPS):
        return "publish"
    return "exports"


@dataclass
class _Stage:
    seconds: float = 0.0
    steps: int = 0
    failed: int = 0
    skipped: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


class NightProgress:
    """Collects a run's events and calls ``emit(line)`` once per stage, in order, as each one ends."""

    def __init__(self, emit: Callable[[str], None]):
        self.emit = emit
        self.stages = {name: _Stage() for name in STAGES}
        self._started: dict[str, float] = {}
        self._done = -1  # index in STAGES of the last stage printed
        self.events = 0

    # -- the listener -----------------------------------------------------------------------------
    def __call__(self, entry: Any) -> None:
        self.events += 1
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            return
        kind = event.event_type_value
        stage = stage_of(entry.step_key)
        if kind == "STEP_START":
            self._flush_before(PHASE[stage])
            self._started[entry.step_key] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            s = self.stages[stage]
            s.steps += 1
            s.failed += kind == "STEP_FAILURE"
            s.seconds += entry.timestamp - self._started.pop(entry.step_key, entry.timestamp)
        elif kind == "STEP_SKIPPED":
            self.stages[stage].skipped += 1
        elif kind == "ASSET_MATERIALIZATION":
            self._count(stage, event.event_specific_data.materialization)

    def _count(self, stage: str, materialization: Any) -> None:
        meta = {k: _value(v) for k, v in (materialization.metadata or {}).items()}
        facts = self.stages[stage].facts
        key = materialization.asset_key.path
        if stage == "ingest":
            facts["feeds"] = facts.get("feeds", 0) + 1
            for name in ("rows_read", "rows_accepted", "rows_quarantined"):
                facts[name] = facts.get(name, 0) + int(meta.get(name, 0))
        elif stage == "engines":
            facts[key[-1]] = "FAILED" if meta.get("failed") else f"{int(meta.get('rows', 0))} rows"
        elif stage == "build":
            if key != ["pipeline", "night"]:
                built = meta.get("dbt_status", "success") == "success"
                facts["models" if built else "not built"] = facts.get("models" if built else "not built", 0) + 1
            facts["parse"] = facts.get("parse", 0.0) + float(meta.get("parse_seconds", 0.0))
        elif stage == "tests":
            facts.update(tests=meta.get("tests"), failed_domains=meta.get("failed_domains"))
        elif stage == "exports" and meta.get("exported") is not None:
            facts["files" if meta["exported"] else "withheld"] = facts.get(
                "files" if meta["exported"] else "withheld", 0) + 1
            facts["rows"] = facts.get("rows", 0) + int(meta.get("rows", 0) or 0)
        elif stage == "publish" and key[-1] in SERVER_STEPS:
            where = SERVER_STEPS[key[-1]]
            facts[key[-1]] = f"on {where} {'published' if meta.get('published') else 'not published'}" + (
                f" ({int(meta['models'])} models, {int(meta['data_tests'])} data tests)" if meta.get("models") else "")
        elif stage == "publish":
            facts.update(published=meta.get("published"), tables=meta.get("tables"))

    # -- the lines --------------------------------------------------------------------------------
    def _flush_before(self, phase: int) -> None:
        while self._done + 1 < len(STAGES) and PHASE[STAGES[self._done + 1]] < phase:
            self._done += 1
            self._print(STAGES[self._done])

    def finish(self) -> None:
        self._flush_before(len(STAGES))

    def _print(self, name: str) -> None:
        s = self.stages[name]
        if not s.steps and not s.skipped:
            return
        f = s.facts
        if name == "ingest":
            detail = (f"{f.get('feeds', 0)} feeds, {f.get('rows_read', 0)} rows read, {f.get('rows_accepted', 0)} accepted, "
                      f"{f.get('rows_quarantined', 0)} quarantined")
        elif name == "engines":
            detail = ", ".join(f"{k} {v}" for k, v in f.items()) or "none ran"
        elif name == "build":
            detail = f"{f.get('models', 0)} models and seeds, dbt parse {f.get('parse', 0.0):.1f} s" + (
                f", {f['not built']} NOT BUILT" if f.get("not built") else "")
        elif name == "tests":
            detail = f"{f.get('tests', '?')} data tests; gates failed: {f.get('failed_domains') or 'none'}"
        elif name == "exports":
            detail = f"{f.get('files', 0)} files written, {f.get('rows', 0)} rows" + (
                f", {f['withheld']} withheld" if f.get("withheld") else "")
        else:
            detail = ("published" if f.get("published") else "not published") + (
                f", {f['tables']} tables" if f.get("tables") else "") + "".join(
                f"; {f[step]}" for step in SERVER_STEPS if f.get(step))
        trouble = "".join([f", {s.failed} step(s) FAILED" if s.failed else "",
                           f", {s.skipped} step(s) skipped" if s.skipped else ""])
        self.emit(f"  {name:<8}{s.seconds:>7.1f} s  {detail}{trouble}")
