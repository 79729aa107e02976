"""What an engine keeps of a night for the next: the records it wrote, and for each key it walks (a customer) a
fingerprint of the inputs it read and the date of its first event still to come.

An engine is a pure function of its inputs and the business date, and a key's records depend on nothing but its
own inputs; a key walked on night N stops at its first event after N. So on a later night D, a key whose inputs
have the same fingerprint and whose next event is after D has exactly the records it had on N: the engine copies
them instead of walking the key again. Every other key (new, changed, or with an event due by D) is walked. The
reuse is decided key by key from what was computed, never from what a night was told changed, so a night
re-ingested, withheld or run again is no special case; a different engine version, other knobs or another DuckDB
(whose ``hash`` the fingerprints use) make the kept night unusable and everything is walked.

A night's state is ``<night>.records.parquet`` (the records, each with its ``part``, its group and its
``position`` in the part), ``<night>.keys.parquet`` (``key``, ``fingerprint``, ``next_event``) and
``<night>.json`` (what the night was computed with), in the engine's folder under ``state/engines``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

#: nights of state kept per engine (a rerun of the last night or two still finds its base)
KEEP = 3
MODULO = 18446744073709551616  # 2**64: a sum of hashes folded back into a UBIGINT
KEYS_SCHEMA = pa.schema([("key", pa.string()), ("fingerprint", pa.uint64()), ("next_event", pa.date32())])


def fingerprint_sql(key: str, columns: str) -> str:
    """Per ``key`` of a relation ``t``: its rows and an order-free fingerprint of the ``columns`` the engine reads."""
    return (f"select {key} as key, count(*) as n, (sum(hash({columns})) % {MODULO})::ubigint as h "
            f"from t where {key} is not null group by {key}")


def version(knobs: dict, *sources: Path) -> str:
    """What a kept night must have been computed with to be reused: the engine's code, its knobs and DuckDB."""
    h = hashlib.sha256(json.dumps({"knobs": knobs, "duckdb": duckdb.__version__}, sort_keys=True).encode())
    for source in sources:
        h.update(source.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Kept:
    """The night a later one can reuse: its folder and business date."""

    folder: Path
    night: date

    def records(self) -> Path:
        return self.folder / f"{self.night.isoformat()}.records.parquet"

    def keys(self) -> Path:
        return self.folder / f"{self.night.isoformat()}.keys.parquet"


def latest(folder: Path, business_date: date, engine_version: str) -> Kept | None:
    """The latest night kept in ``folder`` on or before ``business_date`` computed with ``engine_version``."""
    nights = []
    for meta in folder.glob("*.json"):
        try:
            saved = json.loads(meta.read_text(encoding="utf-8"))
            night = date.fromisoformat(saved["night"])
        except (OSError, ValueError, KeyError):
            continue
        kept = Kept(folder, night)
        if (night <= business_date and saved.get("version") == engine_version
                and kept.records().exists() and kept.keys().exists()):
            nights.append(kept)
    return max(nights, key=lambda k: k.night, default=None)


def night_summary(folder: Path, night: date) -> dict | None:
    """What the kept ``night`` says of itself: its keys, how many were walked and reused, and from which night."""
    try:
        return json.loads((folder / f"{night.isoformat()}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class Keeper:
    """Tonight's state, written as the engine goes (records batch by batch) and put in place by ``close``."""

    def __init__(self, folder: Path, night: date, engine_version: str, records_schema: pa.Schema):
        self.folder, self.night, self.version = folder, night, engine_version
        folder.mkdir(parents=True, exist_ok=True)
        self.kept = Kept(folder, night)
        self._records_tmp = self.kept.records().with_suffix(f".{os.getpid()}.tmp")
        self._writer = pq.ParquetWriter(self._records_tmp, records_schema)

    def add(self, records: pa.Table) -> None:
        """A batch's records (``records_schema``), in the order of the engine's file."""
        if records.num_rows:
            self._writer.write_table(records)

    def close(self, keys: pa.Table, walked: int = 0, reused_from: date | None = None) -> None:
        """Put tonight's state in place: its records and ``keys`` (key, fingerprint, next_event); the ``.json`` also
        says how many keys were walked and which kept night gave the others (what the engine's asset reports)."""
        self._writer.close()
        keys_tmp = self.kept.keys().with_suffix(f".{os.getpid()}.tmp")
        pq.write_table(keys.cast(KEYS_SCHEMA), keys_tmp)
        # a night is usable once its .json is there, written last: a process killed between the two replacements
        # leaves records and keys of different runs, and no .json, so no later night reads them
        meta = self.folder / f"{self.night.isoformat()}.json"
        meta.unlink(missing_ok=True)
        os.replace(self._records_tmp, self.kept.records())
        os.replace(keys_tmp, self.kept.keys())
        meta_tmp = meta.with_suffix(f".{os.getpid()}.tmp")
        summary = {"night": self.night.isoformat(), "version": self.version, "keys": keys.num_rows,
                   "walked": walked, "reused": keys.num_rows - walked,
                   "reused_from": reused_from.isoformat() if reused_from else None}
        meta_tmp.write_text(json.dumps(summary) + "\n", encoding="utf-8")
        os.replace(meta_tmp, meta)
        nights = sorted(p.name.split(".")[0] for p in self.folder.glob("*.json"))
        for old in nights[:-KEEP]:
            for stale in self.folder.glob(f"{old}.*"):
                stale.unlink(missing_ok=True)

    def abandon(self) -> None:
        self._writer.close()
        self._records_tmp.unlink(missing_ok=True)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def between(column: str, bounds: tuple[str, str | None]) -> str:
    """The SQL condition of a batch (its first key, and the next batch's first or none) on ``column``."""
    first, nxt = bounds
    return f"{column} >= {_literal(first)}" + (f" and {column} < {_literal(nxt)}" if nxt is not None else "")


class Night:
    """Tonight's run of an engine that keeps its nights: tonight's keys with their fingerprints (``fingerprints``:
    a table of ``key, n, h`` per input, from ``fingerprint_sql``), the kept night it reuses (the latest in
    ``folder`` on or before tonight computed with ``engine_version``, unless ``reuse`` is false), the keys to walk,
    and tonight's state, written as the batches go. ``group`` names the columns that say whose a record is (the
    key's first) and ``kept_schema`` the records kept: ``part``, the output's columns with the group's, and
    ``position``. Without ``folder`` every key is walked and nothing is kept."""

    def __init__(self, folder: Path | None, business_date: date, engine_version: str, reuse: bool,
                 fingerprints: Sequence[pa.Table], group: tuple[str, ...], kept_schema: pa.Schema):
        self.business_date, self.group, self.kept_schema = business_date, group, kept_schema
        self.scratch = duckdb.connect()  # tonight's keys and the kept night's, in memory
        for number, table in enumerate(fingerprints):
            self.scratch.register(f"input_{number}", table)
        inputs = " union all ".join(f"select {n} as input, key, n, h from input_{n}" for n in range(len(fingerprints)))
        self.scratch.execute(f"""create table tonight as
            select key, (sum(hash(input, n, h)) % {MODULO})::ubigint as fingerprint
            from ({inputs or "select 0 as input, '' as key, 0 as n, 0::ubigint as h where false"}) group by key""")
        self.kept = latest(folder, business_date, engine_version) if folder is not None and reuse else None
        if self.kept is not None:
            self.scratch.execute(f"""create table reused as
                select tonight.key, kept.next_event from tonight
                join read_parquet({_literal(str(self.kept.keys()))}) as kept using (key)
                where tonight.fingerprint = kept.fingerprint
                  and (kept.next_event is null or kept.next_event > date '{business_date}')""")
        else:
            self.scratch.execute("create table reused (key varchar, next_event date)")
        self.walk = [r[0] for r in self.scratch.execute(
            "select key from tonight anti join reused using (key) order by key").fetchall()]
        self.keeper = Keeper(folder, business_date, engine_version, kept_schema) if folder is not None else None
        self.positions: dict[int, int] = {}
        self._next_events: list[tuple[str, date]] = []

    @property
    def reused(self) -> int:
        return self.scratch.execute("select count(*) from reused").fetchall()[0][0]

    def keys(self):
        """Tonight's keys, as a relation (``key``) to cut into batches."""
        return self.scratch.sql("select key from tonight")

    def to_walk(self, column: str, bounds: tuple[str, str | None]) -> str:
        """The SQL condition on ``column`` of the batch's keys to walk (every key of the batch without a kept
        night; ``false`` when the kept night gives them all)."""
        where = between(column, bounds)
        if self.kept is None:
            return where
        first = bisect.bisect_left(self.walk, bounds[0])
        last = bisect.bisect_left(self.walk, bounds[1]) if bounds[1] is not None else len(self.walk)
        mine = self.walk[first:last]
        return f"{where} and {column} in ({', '.join(map(_literal, mine))})" if mine else "false"

    def walked(self, next_events: Iterable[tuple[str, date]]) -> None:
        """The walked keys' first events after tonight (a key with none is absent)."""
        self._next_events.extend(next_events)

    def merge(self, part: int, bounds: tuple[str, str | None], fresh: pa.Table) -> pa.Table:
        """The batch's records of ``part``: ``fresh`` (the walk's, with the group's columns and ``position``) and
        the kept night's of the reused keys, in the group's order (a group's records come all from one or the
        other, in their order there), numbered on from the part's earlier batches; kept for the next night."""
        table = fresh
        if self.kept is not None:
            carried = self.scratch.sql(f"""
                select * exclude (part) from read_parquet({_literal(str(self.kept.records()))})
                where part = {part} and {between(self.group[0], bounds)}
                  and {self.group[0]} in (select key from reused)""").to_arrow_table()
            if carried.num_rows:
                table = pa.concat_tables([table, carried.select(table.column_names).cast(table.schema)]).sort_by(
                    [(c, "ascending") for c in (*self.group, "position")])
        start = self.positions.get(part, 0)
        table = table.set_column(table.schema.get_field_index("position"), "position",
                                 pa.array(range(start, start + table.num_rows), pa.int64()))
        self.positions[part] = start + table.num_rows
        if self.keeper is not None:
            self.keeper.add(pa.table([pa.array([part] * table.num_rows, pa.int8()),
                                      *table.select([f.name for f in self.kept_schema][1:]).columns],
                                     schema=self.kept_schema))
        return table

    def close(self) -> None:
        """Put tonight's state in place (once every batch was merged)."""
        if self.keeper is not None:
            self.scratch.register("walked_next_events", pa.table({
                "key": pa.array([k for k, _ in self._next_events], pa.string()),
                "next_event": pa.array([d for _, d in self._next_events], pa.date32())}))
            self.keeper.close(self.scratch.sql("""
                with walked as (select key, min(next_event) as next_event from walked_next_events group by key)
                select tonight.key, tonight.fingerprint, coalesce(reused.next_event, walked.next_event) as next_event
                from tonight left join reused using (key) left join walked using (key) order by tonight.key
            """).to_arrow_table(), walked=len(self.walk), reused_from=self.kept.night if self.kept else None)
            self.keeper = None
        self.scratch.close()

    def abandon(self) -> None:
        if self.keeper is not None:
            self.keeper.abandon()
        self.scratch.close()
