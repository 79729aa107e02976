"""dbt in this process: one parse per home and settings, reused by every step of every night.

A night calls dbt several times (one build step per stage between the engines, then the data tests).
Spawning ``dbt`` for each would start Python, load the adapter and parse the project every time; here the
project is parsed once with ``dbtRunner`` and every invocation is handed the parsed manifest. Nothing in
the parse depends on the night (the business date comes from the pipeline's night source) nor on the home
(the sources name their files relative to the home, which the profile gives DuckDB as its
``file_search_path``), so the parsed manifest is kept for the next process and the next home too:
``manifest-<fingerprint>.pickle`` in the parse cache (``cache_dir``), reused while the fingerprint of the
project's files, the settings' vars and the dbt version is unchanged (else dbt parses, partially from the
home's ``state/dbt/partial_parse.msgpack`` where it can). The data tests compiled from it are kept beside it.

dbt-duckdb keeps its database open between invocations of one process; every call here closes it
afterwards, so the engines (and the gates) can open tonight's build file themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecycle.io.warehouse import configure_duckdb
from lifecycle.settings import Settings

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

#: a parse cache shared by every home of the machine (else each home keeps its own, in state/dbt)
CACHE_ENV = "LIFECYCLE_DBT_CACHE"

_LOCK = threading.Lock()
_MANIFESTS: dict[str, Any] = {}  # parsed projects of this process, by fingerprint


class DbtError(Exception):
    """dbt could not run at all (the project does not parse or compile): no node has a result."""


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    failures: int | None
    message: str | None
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"unique_id": self.unique_id, "status": self.status, "failures": self.failures,
                "message": self.message, "seconds": round(self.seconds, 3)}


@dataclass
class Invocation:
    results: list[NodeResult]
    parse_seconds: float
    seconds: float


def target_dir(settings: Settings) -> Path:
    """The home's dbt target folder: kept from night to night (partial parsing lives there)."""
    return settings.state / "dbt"


def cache_dir(settings: Settings) -> Path:
    """Where parsed projects and their compiled data tests are kept: ``$LIFECYCLE_DBT_CACHE`` when set (homes
    that share it share their parses: the test suite, or several titles run on one machine), else the home's
    ``state/dbt``."""
    shared = os.environ.get(CACHE_ENV)
    return Path(shared) if shared else target_dir(settings)


def _cached(settings: Settings, kind: str, key: str, suffix: str) -> Path:
    """The cache file of one fingerprint (``manifest-<key>.pickle``, ``data_tests-<key>.json``)."""
    return cache_dir(settings) / f"{kind}-{key[:20]}{suffix}"


def _store(settings: Settings, path: Path, write) -> None:
    """Write a cache file atomically; in a home's own cache, drop what older fingerprints left there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)
    if path.parent == target_dir(settings):
        kind = path.name.split("-", 1)[0]
        for stale in path.parent.glob(f"{kind}*{path.suffix}"):
            if stale != path:
                stale.unlink(missing_ok=True)


def _common_args(settings: Settings, file_log: str = "info") -> list[str]:
    """What every dbt call of a home is given. dbt's own log file (``state/dbt/logs``) is kept for the parse,
    whose errors it details; a build's lines go to standard output only, which a night writes to its log
    (``state/logs/nightly-<D>.log``): a second copy of every line cost a tenth of a build."""
    return [
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_dir(settings)), "--log-path", str(target_dir(settings) / "logs"),
        "--vars", json.dumps(settings.dbt_vars(), sort_keys=True),
        "--log-level-file", file_log,
    ]


def _behavior_flag_source() -> str:
    """The module that registers a behavior flag, found by walking frames: what dbt-common's
    ``BehaviorFlagRendered._default_source`` finds with ``inspect.stack()``, which reads the source lines of every
    frame on the stack (Dagster's, click's, dbt's) for each of the adapter's flags: a third of a second per dbt
    call, four calls a night. The name only labels a "behavior change" message."""
    import sys

    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if name and name != "dbt_common.behavior_flags":
            return name
        frame = frame.f_back
    return "Unknown"


def _quicker_behavior_flags() -> None:
    from dbt_common import behavior_flags

    if hasattr(behavior_flags.BehaviorFlagRendered, "_default_source"):
        behavior_flags.BehaviorFlagRendered._default_source = staticmethod(_behavior_flag_source)


def _release_duckdb() -> None:
    """Close the database dbt-duckdb keeps open in this process (it would lock tonight's build file)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


def fingerprint(settings: Settings) -> str:
    """What a parsed manifest depends on: the project's files, the vars and dbt (not the home: the profile, which
    names it, is read by every invocation, not kept in the manifest)."""
    from dbt.version import __version__ as dbt_version

    h = hashlib.sha256("\0".join([dbt_version, json.dumps(settings.dbt_vars(), sort_keys=True)]).encode())
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if path.is_file() and relative.parts[0] not in ("target", "logs", "dbt_packages"):
            h.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _saved_manifest(settings: Settings, key: str) -> Any | None:
    from dbt.contracts.graph.manifest import Manifest

    saved = _cached(settings, "manifest", key, ".pickle")
    try:
        with saved.open("rb") as f:
            stored_key, fields = pickle.load(f)  # the cache's own file, written below
        return Manifest(**fields) if stored_key == key else None
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError, TypeError):
        return None


def _save_manifest(settings: Settings, key: str, parsed: Any) -> None:
    """The manifest's public fields (its lookups, lock and caches are rebuilt on use; dbt's own
    ``Manifest.__reduce_ex__`` passes them in the wrong positions)."""
    import dataclasses

    fields = {f.name: getattr(parsed, f.name) for f in dataclasses.fields(parsed)
              if f.init and not f.name.startswith("_")}

    def write(path: Path) -> None:
        with path.open("wb") as f:
            pickle.dump((key, fields), f, protocol=pickle.HIGHEST_PROTOCOL)

    _store(settings, _cached(settings, "manifest", key, ".pickle"), write)


def manifest(settings: Settings) -> tuple[Any, float]:
    """The parsed project for this home and its settings, and the seconds it took (0 when reused)."""
    from dbt.cli.main import dbtRunner

    os.environ["LIFECYCLE_HOME"] = str(settings.home)  # the profile reads it
    os.environ.update(settings.duckdb_env())  # and DuckDB's memory limit, threads and spill folder
    started = time.perf_counter()
    print_key = fingerprint(settings)
    with _LOCK:
        if print_key in _MANIFESTS:
            return _MANIFESTS[print_key], 0.0
        target_dir(settings).mkdir(parents=True, exist_ok=True)
        parsed = _saved_manifest(settings, print_key)
        if parsed is None:
            result = dbtRunner().invoke(["parse", *_common_args(settings)])
            _release_duckdb()
            if not result.success or result.result is None:
                raise DbtError(f"dbt parse failed: {result.exception or 'see ' + str(target_dir(settings) / 'logs')}")
            parsed = result.result
            _save_manifest(settings, print_key, parsed)
        _MANIFESTS[print_key] = parsed
        return parsed, time.perf_counter() - started


def invoke(settings: Settings, command: list[str]) -> Invocation:
    """Run one dbt command (``["build", "--select", ...]``, ``["test", ...]``) on tonight's build."""
    from dbt.cli.main import dbtRunner

    _quicker_behavior_flags()
    parsed, parse_seconds = manifest(settings)
    started = time.perf_counter()
    with _LOCK:
        try:
            # no manifest.json / run_results.json per call: the results come back in this process
            result = dbtRunner(manifest=parsed).invoke([*command, *_common_args(settings, "none"), "--no-write-json"])
        finally:
            _release_duckdb()
    if result.exception is not None or result.result is None:
        raise DbtError(f"dbt {command[0]} did not run: {result.exception}")
    results = [
        NodeResult(r.node.unique_id, str(getattr(r.status, "value", r.status)), r.failures,
                   r.message if isinstance(r.message, str) else None, float(r.execution_time or 0.0))
        for r in result.result.results
    ]
    return Invocation(results, parse_seconds, time.perf_counter() - started)


def relation_names(parsed: Any) -> dict[str, str]:
    """Model name → the relation it is built as (``"warehouse"."main_staging"."stg_orders"``)."""
    return {node.name: node.relation_name for node in parsed.nodes.values()
            if node.resource_type == "model" and node.relation_name}


def manifest_json(settings: Settings) -> dict[str, Any]:
    """The parsed project as dbt's manifest.json (written by the parse; written again here if it is missing)."""
    path = target_dir(settings) / "manifest.json"
    if not path.exists():
        parsed, _ = manifest(settings)
        parsed.writable_manifest().write(str(path))
    return json.loads(path.read_text(encoding="utf-8"))


# -- the night's data tests -------------------------------------------------------------------------------------
#
# dbt's test runner costs about 35 ms of Python per test (a macro namespace and a context built for every node),
# 14–20 s a night for 414 tests whose queries take 1–2 s. A data test's SQL depends only on the project, the vars
# and the home (the business date is the night source's row, read when the query runs), so dbt compiles the tests
# once per fingerprint and the night runs the compiled queries on one read-only connection, judging each exactly
# as dbt's test materialization does: failures = fail_calc over the test's rows (with its limit), fail when
# severity is error and ``failures <error_if>``, else warn when ``failures <warn_if>``, else pass.


@dataclass(frozen=True)
class CompiledTest:
    unique_id: str
    sql: str
    fail_calc: str
    warn_if: str
    error_if: str
    severity: str
    limit: int | None

    def query(self) -> str:
        limit = f"\nlimit {int(self.limit)}" if self.limit is not None else ""
        return (f"select {self.fail_calc} as failures, {self.fail_calc} {self.warn_if} as should_warn, "
                f"{self.fail_calc} {self.error_if} as should_error from (\n{self.sql}{limit}\n) dbt_internal_test")


def compiled_tests(settings: Settings) -> list[CompiledTest]:
    """The project's data tests compiled by dbt (``data_tests-<fingerprint>.json`` in the parse cache, compiled
    again when the fingerprint changes)."""
    key = fingerprint(settings)
    path = _cached(settings, "data_tests", key, ".json")
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("fingerprint") == key:
            return [CompiledTest(**t) for t in saved["tests"]]
    from dbt.cli.main import dbtRunner

    parsed, _ = manifest(settings)
    with _LOCK:
        try:
            result = dbtRunner(manifest=parsed).invoke(
                ["compile", "--select", "resource_type:test",
                 *_common_args(settings), "--no-write-json"])
        finally:
            _release_duckdb()
    if result.exception is not None or result.result is None:
        raise DbtError(f"dbt compile of the data tests did not run: {result.exception}")
    tests = []
    for r in result.result.results:
        node, config = r.node, r.node.config
        if node.resource_type != "test" or not node.compiled_code:
            continue
        tests.append(CompiledTest(node.unique_id, node.compiled_code, config.fail_calc, config.warn_if,
                                  config.error_if, str(getattr(config.severity, "value", config.severity)),
                                  config.limit))
    tests.sort(key=lambda t: t.unique_id)
    text = json.dumps({"fingerprint": key, "tests": [t.__dict__ for t in tests]}, indent=1) + "\n"
    _store(settings, path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return tests


def run_data_tests(settings: Settings) -> Invocation:
    """Every data test of the project on tonight's build, one read-only connection, in unique-id order."""
    import duckdb

    started = time.perf_counter()
    tests = compiled_tests(settings)
    results: list[NodeResult] = []
    con = duckdb.connect(str(settings.build_warehouse), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")  # as dbt's profile sets it, and where the sources' files are
        con.execute("set file_search_path = ?", [str(settings.home)])
        configure_duckdb(con, settings)
        for test in tests:
            t = time.perf_counter()
            try:
                failures, should_warn, should_error = con.execute(test.query()).fetchone()
            except duckdb.Error as exc:
                results.append(NodeResult(test.unique_id, "error", None, str(exc).strip(), time.perf_counter() - t))
                continue
            failures = int(failures or 0)
            if test.severity.lower() == "error" and should_error:
                status, message = "fail", f"Got {failures} result{'s' if failures != 1 else ''}, configured to fail if {test.error_if}"
            elif should_warn:
                status, message = "warn", f"Got {failures} result{'s' if failures != 1 else ''}, configured to warn if {test.warn_if}"
            else:
                status, message = "pass", None
            results.append(NodeResult(test.unique_id, status, failures, message, time.perf_counter() - t))
    finally:
        con.close()
    return Invocation(results, 0.0, time.perf_counter() - started)
