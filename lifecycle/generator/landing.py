"""Writes the landing files (one per feed and recorded date) and the bad-row ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from lifecycle.contract import FEEDS
from lifecycle.generator import text
from lifecycle.generator.calendar import from_day
from lifecycle.generator.delivery import BadRow, FeedRows

BAD_ROWS_HEADER = ("feed", "file", "line", "column", "rule", "event_id")


def write_landing(
    home: Path, feeds: dict[str, FeedRows], bad: list[BadRow], cutover: int, end: int
) -> tuple[int, dict[str, int], list[dict[str, object]]]:
    """Write every feed's files; returns files written, data lines per feed, and where each bad row landed."""
    files = 0
    lines_per_feed: dict[str, int] = {}
    located: list[dict[str, object]] = []
    for contract in FEEDS:
        rows = feeds[contract.name]
        names = contract.column_names
        text_columns = {c.name for c in contract.columns if c.type == "text"}
        good = text.csv_lines([text.quote(rows.columns[c]) if c in text_columns else rows.columns[c] for c in names])
        mine = [b for b in bad if b.feed == contract.name]
        extra = pa.array([",".join(text.quote_one(b.values[c]) for c in names) + "\n" for b in mine], pa.large_string())
        lines = pa.concat_arrays([good, extra])
        recorded = np.concatenate([rows.recorded, np.array([b.recorded for b in mine], dtype=np.int64)])
        k1 = np.concatenate([rows.k1, np.array([b.k1 for b in mine], dtype=np.int64)])
        k2 = np.concatenate([rows.k2, np.array([b.k2 for b in mine], dtype=np.int64)])
        k3 = np.concatenate([np.zeros(len(rows), dtype=np.int64), np.arange(1, len(mine) + 1)])
        order = np.lexsort((k3, k2, k1, recorded))
        ordered = lines.take(pa.array(order))
        recorded = recorded[order]
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        offsets, data = _buffers(ordered)

        if contract.is_event:
            dates = list(range(cutover, end + 1))
        else:
            dates = sorted(set(recorded.tolist()) | {cutover})
        if len(recorded) and (recorded.min() < cutover or recorded.max() > end):
            raise AssertionError(f"{contract.name}: a row recorded outside [cut-over, end]")
        folder = home / "landing" / contract.name
        folder.mkdir(parents=True, exist_ok=True)
        header = (",".join(names) + "\n").encode("utf-8")
        starts = {}
        for d in dates:
            a = int(np.searchsorted(recorded, d, side="left"))
            b = int(np.searchsorted(recorded, d, side="right"))
            starts[d] = a
            with open(folder / f"{from_day(d).isoformat()}.csv", "wb") as fh:
                fh.write(header)
                if b > a:
                    fh.write(data[int(offsets[a]) : int(offsets[b])])
            files += 1
        lines_per_feed[contract.name] = len(order)
        for i, b in enumerate(mine):
            pos = int(position[len(rows) + i])
            located.append(
                {
                    "feed": b.feed,
                    "file": f"landing/{b.feed}/{from_day(b.recorded).isoformat()}.csv",
                    "line": pos - starts[b.recorded] + 2,
                    "column": b.column,
                    "rule": b.rule,
                    "event_id": b.event_id,
                }
            )
    located.sort(key=lambda r: (r["feed"], r["file"], r["line"]))
    out = home / "generator"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "bad_rows.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(BAD_ROWS_HEADER) + "\n")
        for r in located:
            fh.write(",".join(text.quote_one(str(r[c])) for c in BAD_ROWS_HEADER) + "\n")
    return files, lines_per_feed, located


def write_migration_control(home: Path, feeds: dict[str, FeedRows], cutover: int) -> Path:
    """``landing/migration_control/<cut-over>.csv``: the migration load's control totals, computed from the good
    rows written on the cut-over date (the legacy system's records; planted bad rows are extra lines, not records)."""
    import duckdb

    from lifecycle.contract import CONTROLLED_SLICES, MIGRATION_CONTROL

    lines = [",".join(MIGRATION_CONTROL.column_names)]
    with duckdb.connect() as con:
        for name, (feed_name, amount, where) in CONTROLLED_SLICES.items():
            rows = feeds[feed_name]
            keep = pa.array(rows.recorded == cutover)
            table = pa.table({c: rows.columns[c].filter(keep) for c in rows.columns})
            con.register("migration", table)
            typed = ("select * replace (cast(amount as decimal(18, 2)) as amount) from migration"
                     if feed_name == "payments" else
                     "select * replace (cast(quantity as bigint) as quantity, cast(unit_price as decimal(18, 2)) "
                     "as unit_price, cast(discount as decimal(18, 2)) as discount, cast(tax_amount as "
                     "decimal(18, 2)) as tax_amount) from migration")
            for currency, count, total in con.execute(
                f"select currency, count(*), cast(sum({amount}) as decimal(38, 2)) from ({typed}) "
                f"where {where} group by currency order by currency"
            ).fetchall():
                lines.append(f"{name},{currency},{count},{total}")
            con.unregister("migration")
    path = home / "landing" / MIGRATION_CONTROL.name / f"{from_day(cutover).isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _buffers(lines: pa.Array) -> tuple[np.ndarray, memoryview]:
    """Offsets and bytes of a large_string array: each file is one contiguous slice of them."""
    lines = pa.concat_arrays([lines]) if lines.offset else lines
    buffers = lines.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[: len(lines) + 1] if buffers[1] is not None else np.zeros(1)
    data = memoryview(buffers[2]) if buffers[2] is not None else memoryview(b"")
    return offsets, data
