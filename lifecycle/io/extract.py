"""``lifecycle export``: one table of the published warehouse, every row and column, as CSV or Parquet.

The query runs on the read-only published connection (no host files, no writes: ``COPY`` stays refused); this
process writes the file. Rows come in a total order (``order by all``), so the same night gives the same bytes.
CSV is for spreadsheets: money and other decimals are written exactly as stored (``12.50``), dates and timestamps
in ISO 8601, lists and structs as JSON, null as an empty field; a text cell a spreadsheet would read as a formula
(``=``, ``+``, ``-``, ``@``, tab, CR first) gets a ``'`` before it, as the nightly exports' files do. Numbers are
never touched, so ``-12.50`` stays a number. Parquet keeps the warehouse's types (DECIMAL stays DECIMAL).
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from lifecycle.io.exports import _csv_text, spreadsheet_safe
from lifecycle.io.warehouse import connect_published, last_published_date
from lifecycle.settings import Settings

BATCH_ROWS = 65_536


class ExtractRefused(ValueError):
    """The table or the filter cannot be exported (unknown table, a filter DuckDB refuses)."""


@dataclass
class Extract:
    table: str
    rows: int
    columns: int
    night: date | None
    path: Path | None  # None: written to standard output


def _table(con, name: str) -> str:
    """``name`` as a quoted ``schema.table`` of the published warehouse, or ExtractRefused naming close ones."""
    tables = [f"{s}.{t}" for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables order by 1, 2").fetchall()]
    if name in tables:
        schema, table = name.split(".", 1)
    else:
        bare = [t for t in tables if t.split(".", 1)[1] == name]
        if len(bare) != 1:
            near = difflib.get_close_matches(name, tables + [t.split(".", 1)[1] for t in tables], n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(near)}?" if near else "; `lifecycle sql \"show all tables\"` lists them"
            raise ExtractRefused(f"no table {name!r} in the published warehouse{hint}")
        schema, table = bare[0].split(".", 1)
    return f'"{schema}"."{table}"'


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _is_text(field: pa.Field) -> bool:
    return pa.types.is_string(field.type) or pa.types.is_large_string(field.type)


def export_table(settings: Settings, name: str, *, where: str | None, fmt: str, out: Path | None) -> Extract:
    """Write ``name`` (``schema.table``, or a table name found in one schema) filtered by ``where`` to ``out`` (None:
    standard output, CSV only) in ``fmt`` (``csv`` or ``parquet``)."""
    import duckdb
    import pyarrow.parquet as pq

    con = connect_published(settings)
    try:
        table = _table(con, name)
        query = f"select * from {table}" + (f" where {where}" if where else "") + " order by all"
        try:
            reader = con.sql(query).to_arrow_reader(BATCH_ROWS)
        except duckdb.Error as exc:
            raise ExtractRefused(f"{name}: the filter {where!r} is refused: {str(exc).splitlines()[0]}") from None
        schema = reader.schema
        rows = 0
        tmp = out.with_name(f".{out.name}.tmp") if out is not None else None
        try:
            if fmt == "parquet":
                with pq.ParquetWriter(tmp, schema) as writer:
                    for batch in reader:
                        writer.write_batch(batch)
                        rows += batch.num_rows
            else:
                text_columns = [_is_text(f) for f in schema]
                sink = tmp.open("w", encoding="utf-8", newline="") if tmp is not None else sys.stdout
                try:
                    sink.write(_csv_text([schema.names]))
                    for batch in reader:
                        columns = [c.to_pylist() for c in batch.columns]
                        sink.write(_csv_text([
                            [spreadsheet_safe(_text(v)) if t else _text(v) for v, t in zip(values, text_columns, strict=True)]
                            for values in zip(*columns, strict=True)]))
                        rows += batch.num_rows
                finally:
                    if tmp is not None:
                        sink.close()
            if tmp is not None:
                os.replace(tmp, out)
        finally:
            if tmp is not None and tmp.exists():
                tmp.unlink()
        return Extract(table.replace('"', ""), rows, len(schema.names), last_published_date(settings), out)
    finally:
        con.close()
