"""Tonight's inputs in a PostgreSQL warehouse: what dbt reads as sources, loaded in bulk from the home's files.

On DuckDB the sources are the home's Parquet files, read in place (their ``external_location``). A server
cannot read them, so before a build the pipeline loads each source into the schema dbt names it by
(``raw``, ``quarantine``, ``engine``, ``pipeline``) and each export's register into ``raw.register_<export>``:
DuckDB reads the files exactly as the DuckDB build would and streams them as CSV into ``COPY ... FROM STDIN``,
one transaction per load (a failed load leaves the previous tables). A load replaces the tables whole, so it
can be repeated: the same files give the same tables.

The connection comes from the environment, never from a file of the repository: ``PGHOST``, ``PGPORT``,
``PGUSER``, ``PGPASSWORD`` (or ``~/.pgpass``), ``PGDATABASE``, the variables libpq and every Postgres client read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
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


def sources(manifest: Mapping[str, Any], settings: Settings) -> list[Source]:
    """Every source of the parsed project (manifest.json) with a file behind it, and every export register."""
    out = []
    for node in manifest["sources"].values():
        location = (node.get("config", {}).get("meta") or node.get("meta") or {}).get("external_location")
        if location:
            # dbt-duckdb fills in the table's name (and identifier, schema) the same way
            location = location.format(name=node["name"], identifier=node["identifier"], schema=node["schema"])
            out.append(Source(node["source_name"], node["name"], f"select * from {location}"))
    register = settings.state / "register"
    for folder in sorted(p for p in register.iterdir() if p.is_dir()) if register.exists() else []:
        if any(folder.glob("*.parquet")):
            out.append(Source("raw", f"register_{folder.name}", (
                "select * exclude (filename), cast(regexp_extract(filename, '(\\d{4}-\\d{2}-\\d{2})\\.parquet$', 1) "
                f"as date) as register_night from read_parquet('{folder.relative_to(settings.home)}/*.parquet', "
                "union_by_name = true, filename = true)")))
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


def load_sources(settings: Settings, manifest: Mapping[str, Any], pg=None) -> dict[str, int]:
    """Load every source into the server, replacing what a previous load left; returns rows by table."""
    con = duckdb.connect()
    own = pg is None
    pg = pg or connect()
    counts: dict[str, int] = {}
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set file_search_path = ?", [str(settings.home)])
        with pg, pg.cursor() as cur:  # one transaction: all tables or none
            cur.execute("set time zone 'UTC'")
            for source in sources(manifest, settings):
                counts[f"{source.schema}.{source.table}"] = _load(con, cur, source)
    finally:
        con.close()
        if own:
            pg.close()
    return counts


def _load(con: duckdb.DuckDBPyConnection, cur, source: Source) -> int:
    columns, query = _csv_select(con, source.query)
    table = f"{_q(source.schema)}.{_q(source.table)}"
    cur.execute(f"create schema if not exists {_q(source.schema)}")
    cur.execute(f"drop table if exists {table}")
    cur.execute(f"create table {table} ({', '.join(f'{_q(n)} {t}' for n, t in columns)})")
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"lifecycle-pg-{os.getpid()}.csv"
    try:
        con.execute(f"copy ({query}) to '{path}' (format csv, header false, nullstr '\\N')")
        with path.open("rb") as f:
            cur.copy_expert(f"copy {table} from stdin with (format csv, null '\\N')", f)
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

