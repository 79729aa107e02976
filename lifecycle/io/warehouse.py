"""The warehouse files: tonight's build, the published copy, and safe connections to each.

dbt is the only writer, into ``build/warehouse.duckdb``. Publishing swaps that file into
``warehouse.duckdb`` with one ``os.replace`` (atomic on one filesystem) after the audit passed;
readers always open the published file read-only with external access turned off.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from lifecycle import failpoints
from lifecycle.io.gate_records import EXPORT_DOMAINS, Withheld, read_gates
from lifecycle.settings import Settings


class PublishError(Exception):
    """The build cannot be published."""


def configure_duckdb(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """DuckDB's memory limit, threads and spill folder for a night's connection (``[warehouse]``; dbt's connection
    takes the same through the profile)."""
    for name, value in settings.duckdb_config().items():
        con.execute(f"set {name} = ?", [value])


def connect_published(settings: Settings | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse that cannot read or write host files.

    Any number of these may be open while a night runs: dbt writes another file.
    """
    path = settings.warehouse if isinstance(settings, Settings) else Path(settings)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no night has been published yet (run `lifecycle nightly`)")
    # Given at open time: connections to one file in one process share a database instance,
    # whose configuration is locked once set.
    return duckdb.connect(str(path), read_only=True,
                          config={"enable_external_access": False, "lock_configuration": True})


def _published_record(settings: Settings) -> Path:
    return settings.state / "published.json"


#: the night each warehouse file holds, by the file's identity: the published file is never written in place (a
#: night swaps a new file in), so a night's many readers (every feed's landing guard, the gates, the exports) open
#: it once
_NIGHT_OF_FILE: dict[tuple, date | None] = {}


def warehouse_night(path: Path) -> date | None:
    """The night a warehouse file holds (its ``marts.warehouse_night``), None for a file without one."""
    st = os.stat(path)
    identity = (str(Path(path).resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if identity in _NIGHT_OF_FILE:
        return _NIGHT_OF_FILE[identity]
    con = connect_published(path)
    try:
        row = (con.execute("select max(business_date) from marts.warehouse_night").fetchone()
               if _has_table(con, "marts", "warehouse_night") else None)
    finally:
        con.close()
    night = row[0] if row else None
    if len(_NIGHT_OF_FILE) > 64:
        _NIGHT_OF_FILE.clear()
    _NIGHT_OF_FILE[identity] = night
    return night


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, database: str | None = None) -> bool:
    return con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ? "
                       "and database_name = coalesce(?, database_name)", [schema, table, database]).fetchone()[0] > 0


def published_record(settings: Settings) -> dict | None:
    """What is published: ``{"business_date", "tables": {table: rows}}``, or None before the first night.

    The published file is the one truth: its ``marts.warehouse_night`` says which night it holds, so the file
    and its record can never disagree. ``state/published.json`` only caches the file's table counts; a record
    that names another night (a night killed between the swap and the record's write) is rewritten from the
    file on first read."""
    if not settings.warehouse.exists():
        return None
    night = warehouse_night(settings.warehouse)
    if night is None:
        return None
    path = _published_record(settings)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if record is None or record.get("business_date") != night.isoformat():
        record = {"business_date": night.isoformat(), "tables": table_counts(settings.warehouse)}
        _write_record(settings, record)
    return record


def _write_record(settings: Settings, record: dict) -> None:
    tmp = _published_record(settings).with_suffix(".json.tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(_published_record(settings))


def last_published_date(settings: Settings) -> date | None:
    """The night the published warehouse holds (read from the file itself), None before the first night."""
    record = published_record(settings)
    return date.fromisoformat(record["business_date"]) if record else None


def audited_source(settings: Settings, night: date, export: str) -> Path:
    """The warehouse file an export of night D reads: the published one when D is the published night,
    else tonight's build when D is newer than the published night and the export's gates passed.

    Raises ``Withheld`` saying why nothing is exported otherwise.
    """
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


def night_file(settings: Settings) -> Path:
    """The one-row night source of the build (``source('pipeline', 'night')``): the business date."""
    return settings.build_dir / "night.parquet"


def dbt_results_dir(settings: Settings) -> Path:
    """Each dbt step's node results for tonight's build (``<step>.json``), which the gates read."""
    return settings.build_dir / "dbt_results"


def write_node_results(settings: Settings, name: str, results: Iterable[Mapping[str, Any]]) -> None:
    """Record one step's node results (dbt's, or an engine's failure on the models that read it)."""
    folder = dbt_results_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(list(results), indent=1) + "\n", encoding="utf-8")


def read_node_results(settings: Settings) -> list[dict[str, Any]]:
    """Every node result recorded for tonight's build, step by step."""
    return [r for path in sorted(dbt_results_dir(settings).glob("*.json"))
            for r in json.loads(path.read_text(encoding="utf-8"))]


def engine_output(settings: Settings, name: str) -> Path:
    """What an engine asset wrote for tonight's build (``source('engine', name)``)."""
    return settings.build_dir / "engine" / f"{name}.parquet"


def _write_parquet(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


#: The schema of the carried models' states, ``carry.<schema>__<table>``
#: (dbt_project/macros/materializations/carried.sql).
CARRY_SCHEMA = "carry"


#: ``carry.seed_fingerprint``: what the build's seed tables were loaded from (the fingerprint of the parsed project,
#: whose files include the seeds' CSVs and their configuration)
SEED_FINGERPRINT = "seed_fingerprint"


def carried_seeds_file(settings: Settings) -> Path:
    """The seeds tonight's build took from the published warehouse (their unique ids), written by reset_build."""
    return settings.build_dir / "carried_seeds.json"


def carried_seeds(settings: Settings) -> set[str]:
    path = carried_seeds_file(settings)
    return set(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else set()


def reset_build(settings: Settings, business_date: date, carry: bool = True,
                seeds: Mapping[str, tuple[str, str]] | None = None, seed_key: str | None = None) -> list[str]:
    """Start tonight's build: every table is built again from raw (a pure function of D), except what the carried
    models can take from the published warehouse. With ``carry`` and a published warehouse, the build starts as a
    copy of it holding only the carried tables and their states, and the seed tables (``seeds``: unique id →
    (schema, table)) when they were loaded from the same project (``seed_key``, kept as
    ``carry.seed_fingerprint``); otherwise (the first night, ``--full-refresh``) from an empty file with the
    states' schema. Writes the night source; the engines' outputs of an earlier build are removed. Returns the
    tables carried in."""
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        Path(str(settings.build_warehouse) + suffix).unlink(missing_ok=True)
    shutil.rmtree(settings.build_dir / "engine", ignore_errors=True)
    shutil.rmtree(dbt_results_dir(settings), ignore_errors=True)
    carried_seeds_file(settings).unlink(missing_ok=True)
    kept = (_carry_published(settings, seeds or {}, seed_key) if carry and settings.warehouse.exists() else [])
    # the carried models' schema, made here once: two carried models creating it at once in the build would
    # conflict (DuckDB refuses the second transaction)
    con = duckdb.connect(str(settings.build_warehouse))
    try:
        con.execute(f"create schema if not exists {CARRY_SCHEMA}")
        if seed_key is not None:  # what tonight's seed tables are (or are about to be) loaded from
            con.execute(f"create or replace table {CARRY_SCHEMA}.{SEED_FINGERPRINT} as select ?::varchar as fingerprint",
                        [seed_key])
    finally:
        con.close()
    write_night(settings, business_date)
    return kept


def _carry_published(settings: Settings, seeds: Mapping[str, tuple[str, str]], seed_key: str | None) -> list[str]:
    """Copy the published warehouse to the build and drop from the copy every table and view but the carried
    tables and their states, and the seed tables when they were loaded from the same project (``seed_key``): a
    model that fails tonight must leave no table of last night's behind. Copying the file is far cheaper than
    writing its rows again. A copy this DuckDB cannot open is removed: the build then starts empty, as on a first
    night."""
    build = settings.build_warehouse
    tmp = build.with_suffix(".duckdb.tmp")
    wal = Path(str(tmp) + ".wal")
    wal.unlink(missing_ok=True)  # a killed night's log of another copy: DuckDB would replay it into this one
    shutil.copyfile(settings.warehouse, tmp)
    try:
        con = duckdb.connect(str(tmp))
    except duckdb.Error:
        tmp.unlink(missing_ok=True)
        wal.unlink(missing_ok=True)
        return []
    try:
        relations = con.execute(
            "select schema_name, table_name, 'table' from duckdb_tables() where not internal and not temporary "
            "union all select schema_name, view_name, 'view' from duckdb_views() where not internal and not temporary "
            "order by all").fetchall()
        states = {name for schema, name, _ in relations if schema == CARRY_SCHEMA}
        tables = {(schema, name) for schema, name, kind in relations if kind == "table"}
        seed_tables = {tuple(relation) for relation in seeds.values()}
        same_seeds = (seed_key is not None and bool(seeds) and seed_tables <= tables
                      and (CARRY_SCHEMA, SEED_FINGERPRINT) in tables
                      and con.execute(f"select fingerprint from {CARRY_SCHEMA}.{SEED_FINGERPRINT}").fetchall()
                      == [(seed_key,)])
        kept = []
        for schema, name, kind in relations:
            if (schema == CARRY_SCHEMA or (kind == "table" and f"{schema}__{name}" in states)
                    or (same_seeds and (schema, name) in seed_tables)):
                kept.append(f"{schema}.{name}")
            else:
                con.execute(f'drop {kind} "{schema}"."{name}"')
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(tmp, build)
    if same_seeds:
        carried_seeds_file(settings).write_text(json.dumps(sorted(seeds)) + "\n", encoding="utf-8")
    return [name for name in kept if not name.startswith(CARRY_SCHEMA + ".")]


def write_night(settings: Settings, business_date: date) -> Path:
    """The night source dbt reads the business date from, and beside it the close calendar in force
    (``close_calendar``), the ledger's closes (``ledger_closes``) and the closed periods' journal as published
    (``write_frozen_journal``)."""
    write_frozen_journal(settings, business_date)
    calendar = sorted(settings.close_calendar().items())
    _write_parquet(pa.table({
        "period": pa.array([p for p, _ in calendar], pa.string()),
        "close_date": pa.array([c for _, c in calendar], pa.date32()),
        "is_opening_period": pa.array([p == settings.opening_period for p, _ in calendar], pa.bool_()),
    }), close_calendar_file(settings))
    moved = ledger_closes(settings, business_date)
    _write_parquet(pa.table({
        "period": pa.array(list(moved), pa.string()),
        "close_date": pa.array([settings.close_calendar()[p] for p in moved], pa.date32()),
        "ledger_close_date": pa.array(list(moved.values()), pa.date32()),
    }), ledger_closes_file(settings))
    return _write_parquet(pa.table({"business_date": pa.array([business_date], pa.date32())}), night_file(settings))


def frozen_periods_file(settings: Settings) -> Path:
    return settings.build_dir / "frozen_periods.parquet"


def frozen_journal_file(settings: Settings) -> Path:
    return settings.build_dir / "frozen_journal_lines.parquet"


def frozen_periods(settings: Settings, night: date) -> list[str]:
    """The periods whose journal night ``night`` takes as published: those closed on both the published night and
    ``night`` (a period that closed since the published night is still computed, one last time, tonight)."""
    published = last_published_date(settings)
    return [] if published is None else settings.closed_periods(min(night, published))


def write_frozen_journal(settings: Settings, night: date) -> None:
    """Closed periods never change: write the frozen periods (``frozen_periods``) and their journal lines from the
    published warehouse, every column as published (``build/frozen_journal_lines.parquet``). fct_journal_lines
    takes these lines for those periods instead of computing them, so a change of settings since (account codes,
    knobs) or a fix to a model applies from the first open period, and a rerun never rewrites a closed period."""
    periods = frozen_periods(settings, night)
    path = frozen_journal_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = False
    if periods:
        con = duckdb.connect()
        try:
            con.execute(f"attach '{settings.warehouse}' as published (read_only)")
            if _has_table(con, "marts", "fct_journal_lines", database="published"):
                listed = ", ".join(f"'{p}'" for p in periods)  # YYYY-MM, made by Settings.closed_periods
                tmp = path.with_suffix(".parquet.tmp")
                # straight from file to file: at a million subscribers the closed journal does not fit in memory
                con.execute(f"copy (select * from published.marts.fct_journal_lines where period in ({listed}) "
                            f"order by journal_line_id) to '{tmp}' (format parquet)")
                os.replace(tmp, path)
                written = True
            else:
                periods = []  # a warehouse from before the journal: nothing to keep
        finally:
            con.close()
    if not written:  # fct_journal_lines unions these by name: two columns say "no line"
        _write_parquet(pa.table({"journal_line_id": pa.array([], pa.string()),
                                 "entry_id": pa.array([], pa.string())}), path)
    _write_parquet(pa.table({"period": pa.array(periods, pa.string())}), frozen_periods_file(settings))


# -- the ledger's nights --------------------------------------------------------------------------

def _ledger_record(settings: Settings) -> Path:
    return settings.state / "ledger_nights.json"


def close_calendar_file(settings: Settings) -> Path:
    return settings.build_dir / "close_calendar.parquet"


def ledger_closes_file(settings: Settings) -> Path:
    return settings.build_dir / "ledger_closes.parquet"


def ledger_nights(settings: Settings) -> list[date]:
    """The nights whose GL journal files were written (``exports/gl/``), in order.

    A home made before this record began has none: its nights are taken from the gates that let the GL journal
    out (a published night always did; a withheld one whose finance and foundation gates passed did too)."""
    path = _ledger_record(settings)
    if path.exists():
        return [date.fromisoformat(d) for d in json.loads(path.read_text(encoding="utf-8"))["nights"]]
    nights = []
    for gates_file in sorted((settings.state / "gates").glob("*.json")):
        night = date.fromisoformat(gates_file.stem)
        gates = read_gates(settings, night)
        if gates is not None and gates.may_export("finance"):
            nights.append(night)
    return nights


def record_ledger_night(settings: Settings, night: date) -> None:
    """Night ``night`` wrote the GL journal files: its journal lines are what finance imported."""
    nights = sorted(set(ledger_nights(settings)) | {night})
    path = _ledger_record(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"nights": [d.isoformat() for d in nights]}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def ledger_closes(settings: Settings, night: date) -> dict[str, date]:
    """Periods closed on ``night`` that close, for the ledger, before their close date: {period: ledger close}.

    A closed period's GL file is the one the last GL night before its close wrote (``exports/gl/<P>/``, final
    once P is closed). An event first known on a night that wrote no GL file (withheld before its finance gate,
    or never run) and before P's close is in no file of P, and never will be: it posts like an event known
    after P closed, in the first open period. So P closes, for the ledger, on the day after the last GL night
    before its close date. Only nights before ``night`` count, so a rerun of a night sees what it saw."""
    gl_nights = [d for d in ledger_nights(settings) if d < night]
    moved = {}
    for period, close in sorted(settings.close_calendar().items()):
        if night < close:
            continue
        before = [d for d in gl_nights if d < close]
        if before and before[-1] + timedelta(days=1) < close:
            moved[period] = before[-1] + timedelta(days=1)
    return moved


#: rows an engine's output is copied in, from its parts' files into its own (and so its row groups at most)
ROW_GROUP = 131_072


def aligned(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns, in its order: a column the table lacks is null."""
    return pa.table([table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
                     for f in schema], schema=schema)


def write_engine_parts(path: Path, batches: Iterable[Mapping[str, pa.Table]], parts: Sequence[str],
                       schema: pa.Schema, number: str | None = None) -> int:
    """Write an engine's output from the batches it walked, holding one batch at a time. Each batch gives a table
    per part (``parts``: the record types, in the file's order): the first part's go straight into ``path``, the
    others' are appended to a file of their part and copied after it, in order (``schema``: a column a part lacks
    is null there); ``number`` (when given) numbers the rows 1, 2, … in the file's order. The file has the rows the
    whole output written at once would have, in the same order. Returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    spool = path.with_name(f".{path.stem}.parts")
    shutil.rmtree(spool, ignore_errors=True)
    spool.mkdir()
    part_schema = pa.schema([f for f in schema if f.name != number])
    tmp = path.with_suffix(".parquet.tmp")
    rows = 0

    def write(table: pa.Table) -> None:
        nonlocal rows
        if number is not None:
            table = table.add_column(schema.get_field_index(number), schema.field(number),
                                     pa.array(range(rows + 1, rows + 1 + table.num_rows), pa.int64()))
        out.write_table(table, row_group_size=ROW_GROUP)
        rows += table.num_rows

    spooled: dict[str, pq.ParquetWriter] = {}
    try:
        with pq.ParquetWriter(tmp, schema) as out:
            for batch in batches:
                for name, table in batch.items():
                    if name not in parts:
                        raise ValueError(f"{path.stem}: a part {name!r} that is not one of {list(parts)}")
                    if not table.num_rows:
                        continue
                    table = aligned(table, part_schema)
                    if name == parts[0]:
                        write(table)
                        continue
                    if name not in spooled:
                        spooled[name] = pq.ParquetWriter(spool / f"{parts.index(name)}.parquet", part_schema)
                    spooled[name].write_table(table)
            for writer in spooled.values():
                writer.close()
            for name in parts[1:]:
                if name in spooled:
                    for records in pq.ParquetFile(spool / f"{parts.index(name)}.parquet").iter_batches(ROW_GROUP):
                        write(pa.Table.from_batches([records], schema=part_schema))
        os.replace(tmp, path)
        return rows
    finally:
        for writer in spooled.values():
            writer.close()
        tmp.unlink(missing_ok=True)
        shutil.rmtree(spool, ignore_errors=True)


@contextmanager
def build_relations(settings: Settings, relations: Mapping[str, str],
                    path: Path | None = None) -> Iterator[dict[str, duckdb.DuckDBPyRelation]]:
    """Tonight's build (or the warehouse at ``path``), read-only: ``{name: relation}`` for the given ``{name:
    relation name}``.

    The session's time zone is UTC, as dbt's (profiles.yml): timestamps reach Python as UTC instants.
    """
    con = duckdb.connect(str(path or settings.build_warehouse), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")  # not at connect time: the icu extension loads on first use
        configure_duckdb(con, settings)
        yield {name: con.sql(f"select * from {relation}") for name, relation in relations.items()}
    finally:
        con.close()


def table_counts(path: Path) -> dict[str, int]:
    """The rows of every table and view of a warehouse file (a view, such as the timeline, is read like a table)."""
    con = connect_published(path)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type in ('BASE TABLE', 'VIEW') order by 1, 2"
        ).fetchall()
        return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables}
    finally:
        con.close()


def audit_closed_periods(settings: Settings, previous: date) -> None:
    """Closed periods never change: the build's journal lines of every period closed on the previous
    published night must be exactly the published ones, in every column the published table has (the build
    takes them from it: ``write_frozen_journal``; this is the comparison of what was carried with what was
    published). Raises PublishError naming the period otherwise."""
    closed = settings.closed_periods(previous)
    if not closed or not settings.warehouse.exists():
        return
    con = duckdb.connect()
    try:
        con.execute(f"attach '{settings.build_warehouse}' as build (read_only)")
        con.execute(f"attach '{settings.warehouse}' as published (read_only)")
        columns = [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where database_name = 'published' "
            "and schema_name = 'marts' and table_name = 'fct_journal_lines' order by column_index").fetchall()]
        if not columns:
            return
        cols = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in closed)
        try:
            differing = con.execute(
                f"""
                with b as (select {cols} from build.marts.fct_journal_lines where period in ({marks})),
                     p as (select {cols} from published.marts.fct_journal_lines where period in ({marks})),
                     diff as ((select * from b except all select * from p) union all
                              (select * from p except all select * from b))
                select period, count(*), min(journal_line_id) from diff group by period order by period
                """,
                [*closed, *closed],
            ).fetchall()
        except duckdb.BinderException as exc:  # a published column the build no longer has
            raise PublishError(f"closed periods would change: the build's journal lines lack a published column "
                               f"({exc}); a closed period's entries are final, so tonight's build is not published"
                               ) from exc
    finally:
        con.close()
    if differing:
        detail = "; ".join(f"{period}: {n} lines differ (e.g. {example})" for period, n, example in differing)
        raise PublishError(f"closed periods would change ({detail}); a closed period's entries are final, "
                           "so tonight's build is not published")


def publish(settings: Settings, business_date: date) -> dict:
    """Swap the audited build into place; returns what was published. Call it only once every gate passed
    (lifecycle.checks.gates), the closed-period audit included.

    A night older than the published one is built and audited but never swapped in: publishing
    it would take finance back in time.
    """
    build = settings.build_warehouse
    if not build.exists():
        raise PublishError(f"{build}: no build to publish")
    wal = Path(str(build) + ".wal")
    if wal.exists():
        raise PublishError(f"{wal}: the build was not closed cleanly; refusing to publish a file without its log")
    counts = table_counts(build)
    holds = warehouse_night(build)
    if holds != business_date:
        raise PublishError(f"{build}: the build holds night {holds}, not {business_date}; refusing to publish it")
    previous = last_published_date(settings)
    if previous is not None and business_date < previous:
        return {"published": False, "business_date": business_date.isoformat(),
                "reason": f"night {previous.isoformat()} is already published", "tables": counts}
    stale_wal = Path(str(settings.warehouse) + ".wal")
    stale_wal.unlink(missing_ok=True)  # a published file is never written, so a .wal beside it is foreign
    os.replace(build, settings.warehouse)  # the publication: the file says which night it holds
    failpoints.reach("after_swap")
    record = {"business_date": business_date.isoformat(), "tables": counts}
    _write_record(settings, record)  # a cache of the file's counts; a crash before it is repaired on read
    return {"published": True, **record}
