"""Tonight's inputs in a PostgreSQL warehouse: what dbt reads as sources, loaded in bulk from the home's files.

On DuckDB the sources are the home's Parquet files, read in place (their ``external_location``). A server
cannot read them, so before a build the pipeline loads each source into the schema dbt names it by
(``raw``, ``quarantine``, ``engine``, ``pipeline``) and each export's register into ``raw.register_<export>``:
DuckDB reads the files exactly as the DuckDB build would and streams them as CSV into ``COPY ... FROM STDIN``,
one transaction per load (a failed load leaves the previous tables). The sources kept one file per partition (the
feeds by recorded date, the quarantine, the registers by night) are loaded file by file, and only what is new or
rewritten since the last load is copied (``raw._loaded_files`` remembers each file's size and modification time);
the others are replaced whole. A load can be repeated: the same files give the same tables.

The connection comes from the environment, never from a file of the repository: ``PGHOST``, ``PGPORT``,
``PGUSER``, ``PGPASSWORD`` (or ``~/.pgpass``), ``PGDATABASE``, the variables libpq and every Postgres client read.

Write, audit, publish (``build_night``, the gates, ``publish_night``: a night's last step when ``[warehouse] kind =
"postgres"``, lifecycle/assets/server.py): once
the night is published on DuckDB, its inputs are loaded, ``dbt build --target postgres`` builds every model and
seed into ``staging__build``, ``intermediate__build`` and ``marts__build`` and runs every data test there, and
only if every node succeeded are the three schemas swapped in, in one transaction (``marts`` becomes
``marts__previous``, ``marts__build`` becomes ``marts``). A query resolves its tables when it starts, so a finance
session sees yesterday's night or tonight's, never a mix; a failed build or test leaves yesterday's in place.
The finance role (``[warehouse] finance_role``) is granted the new marts in the same transaction: it reads the
published marts and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from lifecycle.settings import Settings

#: DuckDB types → PostgreSQL types (DECIMAL keeps its precision and scale; lists become arrays)
_TYPES = {
    "VARCHAR": "text", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP": "timestamp", "BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint",
    "TINYINT": "smallint", "UBIGINT": "numeric(20, 0)", "UINTEGER": "bigint", "HUGEINT": "numeric(38, 0)",
    "DOUBLE": "double precision", "FLOAT": "real",
}


@dataclass(frozen=True)
class Source:
    schema: str
    table: str
    query: str  # DuckDB, with the home as file_search_path
    #: for a source of one file per partition: the files' glob (relative to the home), the query of one file
    #: (``{file}``), and how a file's rows are found in the table: a pattern of its path whose named groups are
    #: columns (``recorded_date=(?P<_recorded_date>…)``)
    files: str | None = None
    file_query: str | None = None
    partition: str | None = None

    def partition_of(self, relative: str) -> dict[str, str]:
        match = re.search(self.partition or "", relative)
        if match is None or not match.groupdict():
            raise ValueError(f"{relative}: not a partition of {self.schema}.{self.table}")
        return match.groupdict()


@dataclass
class Loaded:
    """What a load did: rows now in each table, and files loaded (new or changed) or kept (loaded before)."""
    rows: dict[str, int] = field(default_factory=dict)
    files_loaded: dict[str, int] = field(default_factory=dict)
    files_kept: int = 0


def pg_type(duckdb_type: str) -> str:
    """The PostgreSQL column type of a DuckDB one."""
    if duckdb_type.endswith("[]"):
        return pg_type(duckdb_type[:-2]) + "[]"
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    try:
        return _TYPES[duckdb_type]
    except KeyError:
        raise ValueError(f"no PostgreSQL type for DuckDB's {duckdb_type}") from None


_DATE = r"\d{4}-\d{2}-\d{2}"
#: the partitioned sources: their files, and the columns a file's path gives its rows
_PARTITIONS = {
    "raw": (r"raw/{name}/*/data.parquet", rf"recorded_date=(?P<_recorded_date>{_DATE})/data\.parquet$"),
    "quarantine": ("quarantine/*/*/data.parquet",
                   rf"quarantine/(?P<feed>[^/]+)/recorded_date=(?P<recorded_date>{_DATE})/data\.parquet$"),
}


def sources(manifest: Mapping[str, Any], settings: Settings) -> list[Source]:
    """Every source of the parsed project (manifest.json) with a file behind it, and every export register."""
    from lifecycle.io.dbt import source_locations
    from lifecycle.io.register_paths import register_folders

    out = []
    for node, location in source_locations(manifest):
        files, partition = _PARTITIONS.get(node["source_name"], (None, None))
        if files and f"'{files.format(name=node['name'])}'" not in location:
            files = partition = None  # a source laid out otherwise: loaded whole
        out.append(Source(
            node["source_name"], node["name"], f"select * from {location}",
            files=files.format(name=node["name"]) if files else None,
            file_query="select * from read_parquet('{file}', hive_partitioning = false)" if files else None,
            partition=partition))
    for folder in register_folders(settings):
        night = "cast(regexp_extract(filename, '(\\d{4}-\\d{2}-\\d{2})\\.parquet$', 1) as date) as register_night"
        out.append(Source(
            "raw", f"register_{folder.name}",
            f"select * exclude (filename), {night} from read_parquet("
            f"'{folder.relative_to(settings.home)}/*.parquet', union_by_name = true, filename = true)",
            files=f"{folder.relative_to(settings.home)}/*.parquet",
            file_query=f"select * exclude (filename), {night} from read_parquet('{{file}}', filename = true)",
            partition=rf"(?P<register_night>{_DATE})\.parquet$"))
    return sorted(out, key=lambda s: (s.schema, s.table))


def _csv_select(con: duckdb.DuckDBPyConnection, query: str) -> tuple[list[tuple[str, str]], str]:
    """The columns (name, PostgreSQL type) of a query and a query giving its rows as Postgres reads CSV: lists as
    array literals."""
    described = con.execute(f"describe {query}").fetchall()
    columns, selected = [], []
    for name, kind, *_ in described:
        columns.append((name, pg_type(kind)))
        quoted = _q(name)
        if kind.endswith("[]"):
            element = "'\"' || replace(replace(cast(x as varchar), '\\', '\\\\'), '\"', '\\\"') || '\"'"
            selected.append(f"case when {quoted} is null then null else '{{' || "
                            f"array_to_string(list_transform({quoted}, lambda x: {element}), ',') || '}}' end")
        else:
            selected.append(quoted)
    return columns, f"select {', '.join(selected)} from ({query})"


def connect():
    """A connection to the server the environment names (libpq's PG* variables)."""
    import psycopg2

    return psycopg2.connect("")


#: which file of a partitioned source is in the server, as it was when loaded (the server's own bookkeeping)
LOADED_FILES = "raw._loaded_files"


def load_sources(settings: Settings, manifest: Mapping[str, Any], pg=None, *, full: bool = False) -> Loaded:
    """Load every source into the server, in one transaction: all tables or none.

    A source of one file per partition (the feeds' recorded dates, the quarantine, the export registers) is
    loaded file by file: a file loaded before and unchanged since (its size and modification time) is kept, a new
    or rewritten one replaces its partition's rows, a file gone takes its rows with it, so a night costs its own
    partitions, not the history. A source whose columns changed, and every other source, is replaced whole;
    ``full`` replaces everything."""
    con = duckdb.connect()
    own = pg is None
    pg = pg or connect()
    loaded = Loaded()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set file_search_path = ?", [str(settings.home)])
        with pg, pg.cursor() as cur:
            cur.execute("set time zone 'UTC'")
            cur.execute("create schema if not exists raw")
            cur.execute(f"create table if not exists {LOADED_FILES} (source text not null, file text not null, "
                        "size bigint not null, mtime_ns bigint not null, primary key (source, file))")
            if full:
                cur.execute(f"delete from {LOADED_FILES}")
            for source in sources(manifest, settings):
                name = f"{source.schema}.{source.table}"
                if source.files:
                    loaded.files_kept += _load_files(con, cur, settings, source, loaded)
                else:
                    _load(con, cur, source, source.query, create=True)
                cur.execute(f"select count(*) from {_table(source)}")
                loaded.rows[name] = cur.fetchone()[0]
    finally:
        con.close()
        if own:
            pg.close()
    return loaded


def _table(source: Source) -> str:
    return f"{_q(source.schema)}.{_q(source.table)}"


def _columns(cur, source: Source) -> list[tuple[str, str]] | None:
    """The table's columns (name, type as Postgres formats it), None when there is no table."""
    cur.execute("select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
                "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped order by a.attnum",
                [source.schema, source.table])
    rows = cur.fetchall()
    return rows or None


def _same_type(mine: str, theirs: str) -> bool:
    """Whether a column type we would create is the one Postgres reports (``numeric(18, 2)`` = ``numeric(18,2)``,
    ``timestamptz`` = ``timestamp with time zone``)."""
    aliases = {"timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone"}
    return aliases.get(mine, mine).replace(" ", "") == theirs.replace(" ", "")


def _load_files(con: duckdb.DuckDBPyConnection, cur, settings: Settings, source: Source, loaded: Loaded) -> int:
    """Load a partitioned source file by file; returns the files kept as they were."""
    name = f"{source.schema}.{source.table}"
    on_disk = {}
    for path in sorted(settings.home.glob(source.files)):
        stat = path.stat()
        on_disk[str(path.relative_to(settings.home))] = (stat.st_size, stat.st_mtime_ns)
    cur.execute(f"select file, size, mtime_ns from {LOADED_FILES} where source = %s", [name])
    before = {file: (size, mtime) for file, size, mtime in cur.fetchall()}
    if not on_disk:
        raise PostgresPublishError(f"{name}: no file matches {settings.home / source.files}")
    existing = _columns(cur, source)
    whole, _ = _csv_select(con, source.query)
    # a new table, one whose columns changed, or one loaded whole before (no bookkeeping): every file again
    if not before or existing is None or [n for n, _ in whole] != [n for n, _ in existing] or not all(
            _same_type(a, b) for (_, a), (_, b) in zip(whole, existing, strict=True)):
        cur.execute(f"delete from {LOADED_FILES} where source = %s", [name])
        before = {}
        _create(cur, source, whole)
    changed = [f for f, key in on_disk.items() if before.get(f) != key]
    gone = [f for f in before if f not in on_disk]
    for file in [*gone, *changed]:
        if file in before:  # its rows are in the table: take them out
            keys = source.partition_of(file)
            cur.execute(f"delete from {_table(source)} where "
                        + " and ".join(f"{_q(col)} = %s" for col in keys), list(keys.values()))
            cur.execute(f"delete from {LOADED_FILES} where source = %s and file = %s", [name, file])
    for file in changed:
        _load(con, cur, source, source.file_query.replace("{file}", file.replace("'", "''")), create=False)
        cur.execute(f"insert into {LOADED_FILES} (source, file, size, mtime_ns) values (%s, %s, %s, %s)",
                    [name, file, *on_disk[file]])
    loaded.files_loaded[name] = len(changed)
    return len(on_disk) - len(changed)


def _create(cur, source: Source, columns: list[tuple[str, str]]) -> None:
    cur.execute(f"create schema if not exists {_q(source.schema)}")
    cur.execute(f"drop table if exists {_table(source)}")
    cur.execute(f"create table {_table(source)} ({', '.join(f'{_q(n)} {t}' for n, t in columns)})")


def _load(con: duckdb.DuckDBPyConnection, cur, source: Source, query: str, *, create: bool) -> int:
    """COPY a query's rows into the source's table (made anew from the query's columns when ``create``), by
    column name."""
    columns, csv_query = _csv_select(con, query)
    table = _table(source)
    if create:
        _create(cur, source, columns)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"lifecycle-pg-{os.getpid()}.csv"
    try:
        con.execute(f"copy ({csv_query}) to '{path}' (format csv, header false, nullstr '\\N')")
        with path.open("rb") as f:
            cur.copy_expert(f"copy {table} ({', '.join(_q(n) for n, _ in columns)}) from stdin "
                            "with (format csv, null '\\N')", f)
    finally:
        path.unlink(missing_ok=True)
    return cur.rowcount


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def fetch(sql: str, pg=None) -> list[tuple]:
    own = pg is None
    pg = pg or connect()
    try:
        with pg.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        if own:
            pg.close()



# -- write, audit, publish ---------------------------------------------------------------------------------------

#: the schemas of a published night on the server (the layers of the dbt project; the seeds live in marts)
PUBLISHED_SCHEMAS = ("staging", "intermediate", "marts")
#: what the finance role may read
FINANCE_SCHEMAS = ("marts",)
BUILD_SUFFIX, PREVIOUS_SUFFIX = "__build", "__previous"


class PostgresPublishError(Exception):
    """The night could not be published on the server; yesterday's night stays."""


@dataclass
class ServerNight:
    """What became of a night on the server."""
    business_date: date
    published: bool
    seconds: dict[str, float] = field(default_factory=dict)  # load, build, publish
    loaded_rows: int = 0
    models: int = 0
    tests: int = 0
    results: list[dict] = field(default_factory=list)  # dbt's run results of the build, for the gates


def server_target_dir(settings: Settings) -> Path:
    """dbt's target folder for the server's builds (its own: the DuckDB parse is kept apart, partial parsing reused)."""
    return settings.state / "dbt-postgres"


#: what a night runs on the server: every model and seed, and every data test on them (unit tests are CI's)
NIGHT_BUILD = ("build", "--exclude-resource-type", "unit_test")


def build_on_server(settings: Settings, *, suffix: str = BUILD_SUFFIX, command: tuple[str, ...] = NIGHT_BUILD,
                    ) -> list[dict]:
    """A dbt command (by default the night's build) with ``--target postgres``, its models in the schemas
    ``<layer><suffix>``; returns dbt's results. dbt runs as its own process: the night's process keeps its DuckDB
    adapter and parsed project."""
    from lifecycle.io.dbt import DBT_PROJECT_DIR

    target = server_target_dir(settings)
    (target / "run_results.json").unlink(missing_ok=True)
    dbt_bin = Path(sys.executable).parent / "dbt"
    argv = [str(dbt_bin), *command, "--target", "postgres",
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target), "--log-path", str(target / "logs"),
            "--vars", json.dumps({**settings.dbt_vars(), "build_schema_suffix": suffix}, sort_keys=True)]
    run = subprocess.run(argv, capture_output=True, text=True,
                         env={**os.environ, "LIFECYCLE_HOME": str(settings.home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    results_path = target / "run_results.json"
    if not results_path.exists():
        tail = (run.stdout + run.stderr)[-2000:]
        raise PostgresPublishError(f"dbt {command[0]} --target postgres did not run (exit {run.returncode}): {tail}")
    return json.loads(results_path.read_text(encoding="utf-8"))["results"]


def _schema_exists(cur, name: str) -> bool:
    cur.execute("select 1 from pg_namespace where nspname = %s", [name])
    return cur.fetchone() is not None


def drop_schemas(pg, suffix: str, lock_timeout: str = "10s") -> None:
    """Drop ``<layer><suffix>`` for every layer (what a failed build or an earlier publication left)."""
    with pg, pg.cursor() as cur:
        cur.execute(f"set local lock_timeout = '{lock_timeout}'")
        for schema in PUBLISHED_SCHEMAS:
            cur.execute(f"drop schema if exists {_q(schema + suffix)} cascade")


def ensure_role(pg, role: str) -> None:
    """The finance role, created without login (people log in as members of it: ``create user … in role``)."""
    with pg, pg.cursor() as cur:
        cur.execute("select 1 from pg_roles where rolname = %s", [role])
        if cur.fetchone() is None:
            cur.execute(f"create role {_q(role)} nologin")


def swap_in(pg, role: str) -> None:
    """One transaction: the built schemas become the published ones, the published ones ``<layer>__previous``,
    and the finance role reads the new marts. Then, apart, the previous night is dropped (a reader still on it
    delays that, not the publication; a drop that times out is done by the next publication)."""
    with pg, pg.cursor() as cur:
        for schema in PUBLISHED_SCHEMAS:
            if not _schema_exists(cur, schema + BUILD_SUFFIX):
                raise PostgresPublishError(f"schema {schema + BUILD_SUFFIX} is missing: nothing to publish")
        for schema in PUBLISHED_SCHEMAS:
            if _schema_exists(cur, schema):
                cur.execute(f"alter schema {_q(schema)} rename to {_q(schema + PREVIOUS_SUFFIX)}")
            cur.execute(f"alter schema {_q(schema + BUILD_SUFFIX)} rename to {_q(schema)}")
        for schema in PUBLISHED_SCHEMAS:
            cur.execute(f"revoke all on schema {_q(schema)} from public")
        for schema in FINANCE_SCHEMAS:
            cur.execute(f"grant usage on schema {_q(schema)} to {_q(role)}")
            cur.execute(f"grant select on all tables in schema {_q(schema)} to {_q(role)}")
    try:
        drop_schemas(pg, PREVIOUS_SUFFIX)
    except Exception:  # noqa: BLE001 - a reader holds the previous night: the next publication drops it
        pg.rollback()


def published_night(pg=None) -> date | None:
    """The night the server's published marts hold, or None before the first publication."""
    if not fetch("select 1 from information_schema.tables where table_schema = 'marts' "
                 "and table_name = 'warehouse_night'", pg):
        return None
    rows = fetch("select business_date from marts.warehouse_night", pg)
    return rows[0][0] if rows else None


def build_night(settings: Settings, day: date, manifest: Mapping[str, Any]) -> ServerNight:
    """Write: load night ``day``'s inputs and build and test it beside the published night (``<layer>__build``).
    Its dbt results are ``results``; the caller audits them (the gates) before ``publish_night``."""
    night = ServerNight(day, published=False)
    pg = connect()
    try:
        started = time.perf_counter()
        night.loaded_rows = sum(load_sources(settings, manifest, pg).rows.values())
        drop_schemas(pg, BUILD_SUFFIX)  # what a failed night left
        drop_schemas(pg, PREVIOUS_SUFFIX)  # what a reader kept from being dropped after the last publication
        night.seconds["load"] = time.perf_counter() - started
    finally:
        pg.close()
    started = time.perf_counter()
    night.results = build_on_server(settings)
    night.seconds["build"] = time.perf_counter() - started
    night.models = sum(r["unique_id"].startswith(("model.", "seed.")) for r in night.results)
    night.tests = sum(r["unique_id"].startswith("test.") for r in night.results)
    return night


def publish_night(settings: Settings, night: ServerNight) -> ServerNight:
    """Publish: swap the audited build in, unless the server already holds a later night (finance is not taken
    back in time). Call it only when the build's audit passed."""
    pg = connect()
    try:
        built = fetch(f"select business_date from {_q('marts' + BUILD_SUFFIX)}.warehouse_night", pg)
        if [row[0] for row in built] != [night.business_date]:
            raise PostgresPublishError(f"the server's build holds night {built}, not {night.business_date}")
        current = published_night(pg)
        if current is not None and current > night.business_date:
            return night
        started = time.perf_counter()
        ensure_role(pg, settings.finance_role)
        swap_in(pg, settings.finance_role)
        night.seconds["publish"] = time.perf_counter() - started
        night.published = True
        return night
    finally:
        pg.close()
