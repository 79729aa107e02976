"""The billing engines walk their work in batches (``[warehouse] engine_batch``): the output must not depend on it."""

from __future__ import annotations

import dataclasses
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifecycle.assets.billing import ENGINES
from lifecycle.billing.carry import night_summary
from lifecycle.io.dbt import DBT_PROJECT_DIR
from lifecycle.io.warehouse import build_relations, last_published_date, write_engine_parts
from tests.homes import CUTOVER, END

pytestmark = pytest.mark.nights


def _run(settings, engine, batch, path):
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))
    relations = {n["name"]: n["relation_name"] for n in manifest["nodes"].values()
                 if n["resource_type"] == "model" and n.get("relation_name")}
    settings = dataclasses.replace(settings, engine_batch=batch)
    # before the relations: the published file's night is read through a connection of another configuration, which
    # DuckDB refuses while one without it is open on the same file (unless an earlier test cached the night)
    night = last_published_date(settings)
    with build_relations(settings, {n: relations[n] for n in engine.inputs}, path=settings.warehouse) as inputs:
        rows = write_engine_parts(path, engine.run(settings, night, inputs, None), engine.parts,
                                  engine.schema, engine.number)
    return rows, pq.read_table(path)


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.name)
def test_an_engine_writes_the_same_file_whatever_its_batch(published_home, tmp_path, engine):
    """One subscription (customer) at a time, three at a time and all at once give the file the night wrote: the
    same rows in the same order (cash application's record numbers included)."""
    settings, _ = published_home
    night = pq.read_table(settings.build_dir / "engine" / f"{engine.name}.parquet")
    assert night.num_rows > 100
    for batch in (1, 3, 10**9):
        rows, table = _run(settings, engine, batch, tmp_path / f"{engine.name}-{batch}.parquet")
        assert rows == night.num_rows
        assert table.schema == night.schema
        assert table.equals(night), f"{engine.name} with batches of {batch} differs from the night's file"


def test_parts_are_written_in_order_numbered_and_aligned(tmp_path):
    """Two batches of two record types: every 'a' row first (batch order kept), then every 'b' row; a column a
    part lacks is null there; the numbering follows the file."""
    schema = pa.schema([("n", pa.int64()), ("kind", pa.string()), ("x", pa.int64()), ("y", pa.string())])
    batches = [
        {"b": pa.table({"kind": ["b"], "y": ["first b"]}), "a": pa.table({"kind": ["a", "a"], "x": [1, 2]})},
        {"a": pa.table({"kind": ["a"], "x": [3]}), "b": pa.table({"kind": ["b"], "y": ["second b"]})},
        {"a": pa.table({"kind": pa.array([], pa.string()), "x": pa.array([], pa.int64())})},
    ]
    path = tmp_path / "out.parquet"
    assert write_engine_parts(path, batches, ("a", "b"), schema, number="n") == 5
    assert pq.read_table(path).to_pylist() == [
        {"n": 1, "kind": "a", "x": 1, "y": None},
        {"n": 2, "kind": "a", "x": 2, "y": None},
        {"n": 3, "kind": "a", "x": 3, "y": None},
        {"n": 4, "kind": "b", "x": None, "y": "first b"},
        {"n": 5, "kind": "b", "x": None, "y": "second b"},
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]  # no part file left behind

    empty = tmp_path / "empty.parquet"
    assert write_engine_parts(empty, [], ("a", "b"), schema, number="n") == 0
    assert pq.read_table(empty).schema == schema


def test_a_part_the_engine_does_not_declare_is_refused_and_leaves_no_file(tmp_path):
    schema = pa.schema([("kind", pa.string())])
    with pytest.raises(ValueError, match="'c'"):
        write_engine_parts(tmp_path / "out.parquet", [{"c": pa.table({"kind": ["c"]})}], ("a",), schema)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.name)
def test_an_engine_walks_only_what_changed_since_the_night_it_kept(published_home, engine):
    """The second night reused the first's records for the keys (customers, subscriptions) whose inputs were
    unchanged and that waited for no date by then, walked the others, and its file is a full walk's (the test
    above); the state it kept holds its records in the file's order."""
    settings, _ = published_home
    folder = settings.state / "engines" / engine.name
    nights = sorted(p.name.removesuffix(".json") for p in folder.glob("*.json"))
    assert nights == [CUTOVER.isoformat(), END.isoformat()]
    [(reused, walked)] = duckdb.sql(f"""
        select count(*) filter (where k.fingerprint = c.fingerprint
                                  and (c.next_event is null or c.next_event > date '{END}')),
               count(*) filter (where c.key is null or k.fingerprint <> c.fingerprint
                                  or c.next_event <= date '{END}')
        from read_parquet('{folder / f"{END}.keys.parquet"}') k
        left join read_parquet('{folder / f"{CUTOVER}.keys.parquet"}') c using (key)""").fetchall()
    assert reused > 50 and walked > 0, (reused, walked)
    # the night says so itself (the engine asset's metadata and log line read it): walked + reused = its keys
    summary = night_summary(folder, END)
    assert summary["keys"] == reused + walked
    assert summary["walked"] + summary["reused"] == summary["keys"] and summary["reused"] > 0
    assert summary["reused_from"] in (CUTOVER.isoformat(), END.isoformat())  # END itself after a rerun of it
    night = pq.read_table(settings.build_dir / "engine" / f"{engine.name}.parquet")
    kept = pq.read_table(folder / f"{END}.records.parquet")
    assert kept.num_rows == night.num_rows
    unnumbered = [c for c in night.column_names if c != "record_number"]
    assert kept.select(unnumbered).equals(night.select(unnumbered))
