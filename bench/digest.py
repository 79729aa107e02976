"""Digest of what a home published: every table and view of the published warehouse and every export and register file.

    .venv/bin/python bench/digest.py HOME [--against OTHER_HOME]

The published warehouse and, when one is left (a withheld night), tonight's build are both read. A table's
digest (a view's as a table's) covers its columns with their types and its rows (sorted: a table has no order); a file's
digest is of its bytes. With ``--against``, prints what differs between the two homes and exits 1 if anything
does: run it on two homes generated alike, before and after a structural change, to show that the change
moved no cent and no byte (``--allow-new-tables`` when the change adds models, ``--allow-new-columns`` when it
adds columns to tables: what both homes have must still be identical, a table compared on the columns both have).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import duckdb

FOLDERS = ("exports", "state/register", "raw", "quarantine")


def digest(home: Path, only: dict[str, list[str]] | None = None) -> dict[str, str]:
    """Digests by key (``table main_marts.fct_invoices``, ``file exports/...``); ``only`` restricts a table to
    the columns it names (by key)."""
    out: dict[str, str] = {}
    for label, path in _warehouses(home):
        out.update(_tables(path, label, only or {}))
    for folder in FOLDERS:
        root = home / folder
        for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []:
            out[f"file {path.relative_to(home)}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _warehouses(home: Path) -> list[tuple[str, Path]]:
    return [(label, path) for label, path in (("table", home / "warehouse.duckdb"),
                                              ("build table", home / "build" / "warehouse.duckdb")) if path.exists()]


def columns(home: Path) -> dict[str, list[str]]:
    """Each table's column names, by key."""
    out: dict[str, list[str]] = {}
    for label, path in _warehouses(home):
        con = duckdb.connect(str(path), read_only=True)
        try:
            for schema, table, column in con.execute(
                    "select table_schema, table_name, column_name from information_schema.columns natural join "
                    "(select table_schema, table_name from information_schema.tables where table_type in ('BASE TABLE', 'VIEW')) "
                    "order by table_schema, table_name, ordinal_position").fetchall():
                out.setdefault(f"{label} {schema}.{table}", []).append(column)
        finally:
            con.close()
    return out


def _tables(warehouse: Path, label: str, only: dict[str, list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_type in ('BASE TABLE', 'VIEW') order by 1, 2").fetchall()
        for schema, table in tables:
            columns = con.execute("select column_name, data_type from information_schema.columns "
                                  "where table_schema = ? and table_name = ? order by ordinal_position",
                                  [schema, table]).fetchall()
            keep = only.get(f"{label} {schema}.{table}")
            if keep is not None:
                columns = [c for c in columns if c[0] in keep]
            selected = ", ".join(f'"{c[0]}"' for c in columns)
            rows = sorted(repr(r) for r in con.execute(f'select {selected} from "{schema}"."{table}"').fetchall())
            h = hashlib.sha256(repr(columns).encode())
            for row in rows:
                h.update(row.encode())
            out[f"{label} {schema}.{table}"] = f"{h.hexdigest()} ({len(rows)} rows)"
    finally:
        con.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home", type=Path)
    parser.add_argument("--against", type=Path)
    parser.add_argument("--allow-new-tables", action="store_true",
                        help="a table only HOME has (a model a refactoring added) is listed as added, not as a "
                             "difference; every table and file both homes have must still be identical")
    parser.add_argument("--allow-new-columns", action="store_true",
                        help="a column only HOME's table has (a refactoring added it) is listed, and the table is "
                             "compared on the columns both homes' tables have")
    args = parser.parse_args()
    only: dict[str, list[str]] = {}
    if args.against is not None and args.allow_new_columns:
        theirs_columns = columns(args.against)
        for key, names in columns(args.home).items():
            if key in theirs_columns and set(names) > set(theirs_columns[key]):
                print(f"added columns: {key}: {', '.join(n for n in names if n not in theirs_columns[key])}")
                only[key] = theirs_columns[key]
    mine = digest(args.home, only)
    if args.against is None:
        print(json.dumps(mine, indent=1))
        return 0
    theirs = digest(args.against)
    added = sorted(k for k in mine.keys() - theirs.keys() if k.startswith(("table ", "build table "))
                   ) if args.allow_new_tables else []
    differ = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k) and k not in added)
    tables = sum(k.startswith(("table ", "build table ")) for k in mine) - len(added)
    files = sum(k.startswith("file ") for k in mine)
    for key in added:
        print(f"added: {key}: {mine[key]}")
    for key in differ:
        print(f"differs: {key}: {theirs.get(key, 'absent')} → {mine.get(key, 'absent')}")
    print(f"{tables} tables and {files} files compared, {len(differ)} differ" + (f"; {len(added)} tables added"
                                                                                 if added else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
