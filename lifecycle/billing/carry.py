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

import hashlib
import json
import os
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

    def close(self, keys: pa.Table) -> None:
        """Put tonight's state in place: its records and ``keys`` (key, fingerprint, next_event)."""
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
        meta_tmp.write_text(json.dumps({"night": self.night.isoformat(), "version": self.version}) + "\n",
                            encoding="utf-8")
        os.replace(meta_tmp, meta)
        nights = sorted(p.name.split(".")[0] for p in self.folder.glob("*.json"))
        for old in nights[:-KEEP]:
            for stale in self.folder.glob(f"{old}.*"):
                stale.unlink(missing_ok=True)

    def abandon(self) -> None:
        self._writer.close()
        self._records_tmp.unlink(missing_ok=True)
