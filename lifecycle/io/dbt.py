"""dbt in this process: one parse per home and settings, reused by every step of every night.

A night calls dbt several times (one build step per stage between the engines, then the data tests).
Spawning ``dbt`` for each would start Python, load the adapter and parse the project every time; here the
project is parsed once with ``dbtRunner`` and every invocation is handed the parsed manifest. Nothing in
the parse depends on the night (the business date comes from the pipeline's night source) nor on the home
(the sources name their files relative to the home, which the profile gives DuckDB as its
``file_search_path``), nor on the home's cut-over date (``RUNTIME_VARS``: dbt is handed them when it compiles,
and the parse is made with them blank), so the parsed manifest is kept for the next process and the next home
too: ``manifest-<fingerprint>.pickle`` in the parse cache (``cache_dir``: one folder for the machine), reused
while the fingerprint of the project's files, the settings' other vars and the dbt version is unchanged (else
dbt parses, partially from the home's ``state/dbt/partial_parse.msgpack`` where it can). The data tests
compiled for a home's settings (its cut-over date included) are kept beside it.

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecycle.io.warehouse import configure_duckdb
from lifecycle.settings import Settings

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

#: the parse cache's folder, shared by the homes that name the same one (default: the machine's, ``default_cache``)
CACHE_ENV = "LIFECYCLE_DBT_CACHE"

#: vars that only the models' and tests' SQL reads, never what dbt's parse records (refs, sources, configs):
#: the parse is made with them blank and dbt is handed the home's values when it compiles, so a new home's
#: cut-over date costs no parse of its own (tests/test_pipeline_config.py parses with and without them and
#: compares what dbt recorded)
RUNTIME_VARS = ("cutover_date", "opening_date")

#: files of one kind (parsed projects, compiled tests) a shared cache keeps, the most recently used
SHARED_CACHE_KEEP = 8

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


def default_cache() -> Path:
    """The machine's parse cache: ``$XDG_CACHE_HOME/subscription-lifecycle/dbt`` (``~/.cache/…``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "subscription-lifecycle" / "dbt"


def cache_dir(settings: Settings) -> Path:
    """Where parsed projects and their compiled data tests are kept: ``$LIFECYCLE_DBT_CACHE`` when set, else the
    machine's cache (``default_cache``), so every home of the machine with the same settings shares one parse
    (`make install` makes the one of the default settings); the home's own ``state/dbt`` when neither can be
    written."""
    shared = Path(os.environ.get(CACHE_ENV) or default_cache())
    try:
        shared.mkdir(parents=True, exist_ok=True)
    except OSError:
        return target_dir(settings)
    return shared if os.access(shared, os.W_OK) else target_dir(settings)


def _cached(settings: Settings, kind: str, key: str, suffix: str) -> Path:
    """The cache file of one fingerprint (``manifest-<key>.pickle``, ``data_tests-<key>.json``)."""
    return cache_dir(settings) / f"{kind}-{key[:20]}{suffix}"


def _store(settings: Settings, path: Path, write) -> None:
    """Write a cache file atomically; in a home's own cache, drop what older fingerprints left there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)
    kind = path.name.split("-", 1)[0]
    others = [p for p in path.parent.glob(f"{kind}-*{path.suffix}") if p != path]
    if path.parent != target_dir(settings):  # a shared cache keeps the most recently used few
        others = sorted(others, key=_last_used, reverse=True)[SHARED_CACHE_KEEP - 1:]
    for stale in others:
        stale.unlink(missing_ok=True)


def _last_used(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _touch(path: Path) -> None:
    """Mark a cache file used (a shared cache drops the least recently used)."""
    try:
        os.utime(path)
    except OSError:
        pass


def parse_vars(settings: Settings) -> dict[str, object]:
    """The vars dbt parses the project with: the settings' vars, ``RUNTIME_VARS`` blank."""
    return {**settings.dbt_vars(), **{name: "" for name in RUNTIME_VARS}}


def _common_args(settings: Settings, file_log: str = "info", *, parsing: bool = False) -> list[str]:
    """What every dbt call of a home is given. dbt's own log file (``state/dbt/logs``) is kept for the parse,
    whose errors it details; a build's lines go to standard output only, which a night writes to its log
    (``state/logs/nightly-<D>.log``): a second copy of every line cost a tenth of a build."""
    return [
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_dir(settings)), "--log-path", str(target_dir(settings) / "logs"),
        "--vars", json.dumps(parse_vars(settings) if parsing else settings.dbt_vars(), sort_keys=True),
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


def fingerprint(settings: Settings, *, parsing: bool = False) -> str:
    """What compiled SQL depends on: the project's folder and files, the vars and dbt (not the home: the profile,
    which names it, is read by every invocation, not kept in the manifest); with ``parsing``, what a parsed manifest
    depends on: the same, with the vars it is parsed with (``parse_vars``)."""
    from dbt.version import __version__ as dbt_version

    variables = parse_vars(settings) if parsing else settings.dbt_vars()
    # the project's own folder too: a parsed seed names its file by absolute path, so two checkouts of the project
    # on one machine do not share a parse (one would read the other's seeds)
    h = hashlib.sha256("\0".join([dbt_version, str(DBT_PROJECT_DIR), json.dumps(variables, sort_keys=True)]).encode())
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if path.is_file() and relative.parts[0] not in ("target", "logs", "dbt_packages"):
            h.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def cached_parse(settings: Settings) -> Path:
    """The parse cache's file for these settings (it may not exist yet)."""
    return _cached(settings, "manifest", fingerprint(settings, parsing=True), ".pickle")


def _saved_manifest(settings: Settings, key: str) -> Any | None:
    from dbt.contracts.graph.manifest import Manifest

    saved = _cached(settings, "manifest", key, ".pickle")
    try:
        with saved.open("rb") as f:
            stored_key, fields = pickle.load(f)  # the cache's own file, written below
        if stored_key != key:
            return None
        _touch(saved)
        return Manifest(**fields)
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


def source_locations(manifest: Mapping[str, Any]) -> list[tuple[dict, str]]:
    """Every source of the parsed project (manifest.json) with a file behind it, and its ``external_location``
    filled in as dbt-duckdb does (``{name}``, ``{identifier}``, ``{schema}``): the DuckDB expression reading it."""
    out = []
    for node in manifest["sources"].values():
        location = (node.get("config", {}).get("meta") or node.get("meta") or {}).get("external_location")
        if location:
            out.append((node, location.format(name=node["name"], identifier=node["identifier"],
                                              schema=node["schema"])))
    return out


def manifest(settings: Settings) -> tuple[Any, float]:
    """The parsed project for this home and its settings, and the seconds it took (0 when reused)."""
    from dbt.cli.main import dbtRunner

    os.environ["LIFECYCLE_HOME"] = str(settings.home)  # the profile reads it
    os.environ.update(settings.duckdb_env())  # and DuckDB's memory limit, threads and spill folder
    started = time.perf_counter()
    print_key = fingerprint(settings, parsing=True)
    with _LOCK:
        if print_key in _MANIFESTS:
            return _MANIFESTS[print_key], 0.0
        target_dir(settings).mkdir(parents=True, exist_ok=True)
        parsed = _saved_manifest(settings, print_key)
        if parsed is None:
            result = dbtRunner().invoke(["parse", *_common_args(settings, parsing=True)])
            _release_duckdb()
            if not result.success or result.result is None:
                raise DbtError(f"dbt parse failed: {result.exception or 'see ' + str(target_dir(settings) / 'logs')}")
            parsed = result.result
            _save_manifest(settings, print_key, parsed)
        _MANIFESTS[print_key] = parsed
        return parsed, time.perf_counter() - started


def forget_manifests() -> None:
    """Drop this process's parsed projects and dbt's adapters (they hold dbt's multiprocessing locks, which a
    process ended with ``os._exit`` would leave to the resource tracker's warnings)."""
    import gc

    from dbt.adapters.factory import reset_adapters

    with _LOCK:
        _MANIFESTS.clear()
        reset_adapters()
    gc.collect()


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


def runtime_var_macros(parsed: Any) -> set[str]:
    """The project's macros that read a runtime var (``RUNTIME_VARS``), or call one that does, in any branch:
    found in their source text, to a fixed point."""
    own = {uid: m for uid, m in parsed.macros.items() if m.package_name == parsed.metadata.project_name}
    found = {uid for uid, m in own.items() if any(f"var('{v}'" in m.macro_sql or f'var("{v}"' in m.macro_sql
                                                    for v in RUNTIME_VARS)}
    while True:
        names = tuple(f"{own[uid].name}(" for uid in found)
        more = {uid for uid, m in own.items() if uid not in found and any(n in m.macro_sql for n in names)}
        if not more:
            return found
        found |= more


def runtime_var_tests(parsed: Any) -> set[str]:
    """The data tests whose compiled SQL can depend on a runtime var: their own text names one, or a macro that
    reads one (``runtime_var_macros``), or they are made by such a macro (a generic test). The others compile to
    the same SQL for every home that shares the parse."""
    macros = runtime_var_macros(parsed)
    names = tuple(f"{parsed.macros[uid].name}(" for uid in macros) + tuple(f"'{v}'" for v in RUNTIME_VARS) + tuple(
        f'"{v}"' for v in RUNTIME_VARS)
    return {uid for uid, node in parsed.nodes.items() if node.resource_type == "test"
            and (any(n in (node.raw_code or "") for n in names) or set(node.depends_on.macros) & macros)}


def _load_tests(path: Path, key: str) -> list[CompiledTest] | None:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if saved.get("fingerprint") != key:
        return None
    _touch(path)
    return [CompiledTest(**t) for t in saved["tests"]]


def _compile_tests(settings: Settings, parsed: Any, select: list[str]) -> list[CompiledTest]:
    from dbt.cli.main import dbtRunner

    with _LOCK:
        try:
            result = dbtRunner(manifest=parsed).invoke(
                ["compile", "--select", *select, *_common_args(settings), "--no-write-json"])
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
    return tests


def _save_tests(settings: Settings, path: Path, key: str, tests: list[CompiledTest]) -> None:
    text = json.dumps({"fingerprint": key, "tests": [t.__dict__ for t in tests]}, indent=1) + "\n"
    _store(settings, path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def compiled_tests(settings: Settings) -> list[CompiledTest]:
    """The project's data tests compiled by dbt, in unique-id order, from two files of the parse cache: the tests
    that compile alike for every home sharing the parse (``data_tests-<parse fingerprint>.json``), and the few
    whose SQL holds a runtime var, the home's cut-over date (``data_tests_runtime-<fingerprint>.json``, compiled
    for each settings' values): a new home with a cut-over of its own compiles only these."""
    parsed, _ = manifest(settings)
    shared_key, own_key = fingerprint(settings, parsing=True), fingerprint(settings)
    shared_path = _cached(settings, "data_tests", shared_key, ".json")
    own_path = _cached(settings, "data_tests_runtime", own_key, ".json")
    shared, own = _load_tests(shared_path, shared_key), _load_tests(own_path, own_key)
    if shared is None or own is None:
        dependent = runtime_var_tests(parsed)
        if shared is None:  # every test at once, both files
            compiled = _compile_tests(settings, parsed, ["resource_type:test"])
            shared = [t for t in compiled if t.unique_id not in dependent]
            own = [t for t in compiled if t.unique_id in dependent]
            _save_tests(settings, shared_path, shared_key, sorted(shared, key=lambda t: t.unique_id))
        else:
            own = _compile_tests(settings, parsed, sorted(parsed.nodes[uid].name for uid in dependent)) if dependent else []
            own = [t for t in own if t.unique_id in dependent]
        _save_tests(settings, own_path, own_key, sorted(own, key=lambda t: t.unique_id))
    return sorted(shared + own, key=lambda t: t.unique_id)


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
