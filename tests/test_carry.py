"""lifecycle.billing.carry: which keys a night reuses from the night an engine kept, and which it walks."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from lifecycle.billing import carry

SCHEMA = pa.schema([("part", pa.int8()), ("key", pa.string()), ("value", pa.int64()), ("position", pa.int64())])
N1, N2 = date(2026, 3, 1), date(2026, 3, 2)


def _fingerprints(rows: dict[str, int]) -> list[pa.Table]:
    return [pa.table({"key": list(rows), "n": [1] * len(rows), "h": pa.array(list(rows.values()), pa.uint64())})]


def _night(folder, day, rows, version="v1", reuse=True):
    return carry.Night(folder, day, version, reuse, _fingerprints(rows), ("key",), SCHEMA)


def _records(keys_values: list[tuple[str, int]]) -> pa.Table:
    return pa.table({"key": [k for k, _ in keys_values], "value": [v for _, v in keys_values],
                     "position": list(range(len(keys_values)))})


def test_a_key_is_reused_while_its_inputs_are_the_same_and_it_waits_for_nothing_due(tmp_path):
    first = _night(tmp_path, N1, {"A": 1, "B": 2, "C": 3, "D": 4})
    assert first.walk == ["A", "B", "C", "D"] and first.kept is None
    bounds = ("A", None)
    assert first.merge(0, bounds, _records([("A", 10), ("A", 11), ("B", 20), ("C", 30), ("D", 40)])).num_rows == 5
    # B waits for 2 March (due the next night), C for 3 March, D for nothing
    first.walked([("B", N2), ("C", date(2026, 3, 3)), ("C", date(2026, 3, 9))])
    first.close()

    # A's inputs changed; B's next event is due; C's is not; D waits for nothing; E is new
    second = _night(tmp_path, N2, {"A": 99, "B": 2, "C": 3, "D": 4, "E": 5})
    assert second.kept == carry.Kept(tmp_path, N1)
    assert second.walk == ["A", "B", "E"] and second.reused == 2
    assert second.to_walk("key", ("A", "D")) == "key >= 'A' and key < 'D' and key in ('A', 'B')"
    assert second.to_walk("key", ("C", "E")) == "false"
    merged = second.merge(0, bounds, _records([("A", 12), ("B", 21), ("E", 50)]))
    assert list(zip(merged["key"].to_pylist(), merged["value"].to_pylist(), strict=True)) == [
        ("A", 12), ("B", 21), ("C", 30), ("D", 40), ("E", 50)]
    assert merged["position"].to_pylist() == [0, 1, 2, 3, 4]
    second.walked([("A", date(2026, 4, 1))])
    second.close()
    kept = dict(zip(*[t.to_pylist() for t in pq.read_table(
        carry.Kept(tmp_path, N2).keys()).select(["key", "next_event"]).columns], strict=True))
    assert kept == {"A": date(2026, 4, 1), "B": None, "C": date(2026, 3, 3), "D": None, "E": None}


def test_another_version_a_full_refresh_or_a_half_written_night_reuses_nothing(tmp_path):
    first = _night(tmp_path, N1, {"A": 1})
    first.merge(0, ("A", None), _records([("A", 10)]))
    first.close()
    assert _night(tmp_path, N2, {"A": 1}).walk == []
    assert _night(tmp_path, N2, {"A": 1}, version="v2").walk == ["A"]
    assert _night(tmp_path, N2, {"A": 1}, reuse=False).walk == ["A"]
    assert _night(tmp_path, date(2026, 2, 28), {"A": 1}).walk == ["A"]  # a night before the kept one
    (tmp_path / f"{N1}.json").unlink()  # killed before the night was complete
    assert _night(tmp_path, N2, {"A": 1}).walk == ["A"]


def _offer(offer_id, renewal=None, price=4900, valid_from=date(2025, 1, 1), product="MAG"):
    from lifecycle.billing.terms import OfferVersion
    return OfferVersion(offer_id=offer_id, valid_from=valid_from, valid_to=None, term_unit="issues", term_length=12,
                        price_cents=price, renewal_offer_id=renewal, schedule_product_id=product,
                        shipment_interval_months=1)


def test_a_chain_is_walked_again_only_for_a_change_of_the_offers_and_schedules_it_can_reach():
    """The chain walk's catalogue fingerprint (lifecycle.billing.relations): a subscription reads its orders'
    offers, the offers they renew into, and those offers' issue schedules; nothing else of the catalogue."""
    from lifecycle.billing.terms import Catalogue

    issues = [("MAG", "MAG-2026-01", date(2026, 1, 5)), ("BOOK", "BK-1", date(2026, 1, 9))]
    before = Catalogue([_offer("INTRO", renewal="STD"), _offer("STD", renewal="STD"), _offer("BOOKS", product="BOOK")],
                       issues)
    assert before.reach("INTRO") == {"INTRO", "STD"} and before.reach("STD") == {"STD"}
    assert before.reach("GONE") == {"GONE"}  # not in the catalogue (yet): added, it would be read
    digests = {o: before.offer_digest(o) for o in ("INTRO", "STD", "BOOKS", "GONE")}
    assert Catalogue([_offer("INTRO", renewal="STD"), _offer("STD", renewal="STD"), _offer("BOOKS", product="BOOK")],
                     issues).offer_digest("STD") == digests["STD"]  # the same catalogue, the same number

    # a new offer no chain names: every digest stays
    added = Catalogue([_offer("INTRO", renewal="STD"), _offer("STD", renewal="STD"), _offer("BOOKS", product="BOOK"),
                       _offer("DIG24", product=None)], issues)
    assert {o: added.offer_digest(o) for o in digests} == digests
    # a new price of the renewal offer: STD's digest (so INTRO's chains, which reach it) changes, BOOKS' does not
    repriced = Catalogue([_offer("INTRO", renewal="STD"), _offer("STD", renewal="STD"),
                          _offer("STD", renewal="STD", price=5900, valid_from=date(2026, 6, 1)),
                          _offer("BOOKS", product="BOOK")], issues)
    assert repriced.offer_digest("STD") != digests["STD"]
    assert (repriced.offer_digest("INTRO"), repriced.offer_digest("BOOKS")) == (digests["INTRO"], digests["BOOKS"])
    # a new issue of the magazine: the magazine's offers change, the book series' does not
    scheduled = Catalogue([_offer("INTRO", renewal="STD"), _offer("STD", renewal="STD"),
                           _offer("BOOKS", product="BOOK")], [*issues, ("MAG", "MAG-2026-02", date(2026, 2, 5))])
    assert scheduled.offer_digest("INTRO") != digests["INTRO"] and scheduled.offer_digest("STD") != digests["STD"]
    assert scheduled.offer_digest("BOOKS") == digests["BOOKS"]
    # an offer that appears: its digest is no longer the missing one's
    assert Catalogue([_offer("GONE")], issues).offer_digest("GONE") != digests["GONE"]


def test_tonights_build_starts_from_the_published_carried_tables_alone(home):
    """The build copies the published warehouse with only the carried tables and their states; a full refresh
    (or a first night) starts from an empty file, with the states' schema."""
    import duckdb

    from lifecycle.io.warehouse import reset_build

    con = duckdb.connect(str(home.warehouse))
    con.execute("create schema marts; create schema carry")
    con.execute("create table marts.fct_outbox_messages as select 'C1' as customer_id, 'm1' as message_id")
    con.execute("create table carry.marts__fct_outbox_messages as select 'C1' as carry_key, 7::hugeint as fingerprint")
    con.execute("create table marts.fct_invoices as select 'C1' as customer_id")  # not carried: dropped
    con.execute("create view marts.v as select 1 as x")
    con.close()
    night = date(2026, 11, 20)

    assert reset_build(home, night) == ["marts.fct_outbox_messages"]
    con = duckdb.connect(str(home.build_warehouse), read_only=True)
    assert con.execute("select schema_name, table_name from duckdb_tables() order by all").fetchall() == [
        ("carry", "marts__fct_outbox_messages"), ("marts", "fct_outbox_messages")]
    assert con.execute("select count(*) from duckdb_views() where not internal").fetchone() == (0,)
    assert con.execute("select * from marts.fct_outbox_messages").fetchall() == [("C1", "m1")]
    con.close()
    assert reset_build(home, night, carry=False) == []
    con = duckdb.connect(str(home.build_warehouse), read_only=True)
    assert con.execute("select count(*) from duckdb_tables()").fetchone() == (0,)
    assert con.execute("select count(*) from duckdb_schemas() where schema_name = 'carry'").fetchone() == (1,)
    con.close()


def test_the_seed_tables_are_carried_while_the_project_is_the_one_they_were_loaded_from(home):
    """Tonight's build keeps the published seed tables when ``carry.seed_fingerprint`` names tonight's parsed
    project (the seeds' CSVs are among its files); with another fingerprint, a full refresh or a seed table
    missing, step 0 loads the seeds again. The fingerprint is written for tonight either way."""
    import duckdb

    from lifecycle.io.warehouse import carried_seeds, reset_build

    seeds = {"seed.p.chart_of_accounts": ("marts", "chart_of_accounts"), "seed.p.upsell_rules": ("marts", "upsell_rules")}
    con = duckdb.connect(str(home.warehouse))
    con.execute("create schema marts; create schema carry")
    con.execute("create table marts.chart_of_accounts as select 'cash' as account_key, '1000' as account_code")
    con.execute("create table marts.upsell_rules as select 1 as priority")
    con.execute("create table carry.seed_fingerprint as select 'K1' as fingerprint")
    con.close()
    night = date(2026, 11, 20)

    def build_tables() -> tuple[list, list]:
        con = duckdb.connect(str(home.build_warehouse), read_only=True)
        try:
            return (con.execute("select schema_name, table_name from duckdb_tables() order by all").fetchall(),
                    con.execute("select fingerprint from carry.seed_fingerprint").fetchall())
        finally:
            con.close()

    assert reset_build(home, night, seeds=seeds, seed_key="K1") == ["marts.chart_of_accounts", "marts.upsell_rules"]
    assert carried_seeds(home) == set(seeds)
    assert build_tables() == ([("carry", "seed_fingerprint"), ("marts", "chart_of_accounts"), ("marts", "upsell_rules")],
                              [("K1",)])
    # the project changed (a seed's CSV, say): nothing carried, tonight's fingerprint recorded
    assert reset_build(home, night, seeds=seeds, seed_key="K2") == []
    assert carried_seeds(home) == set()
    assert build_tables() == ([("carry", "seed_fingerprint")], [("K2",)])
    # a full refresh loads them too
    assert reset_build(home, night, carry=False, seeds=seeds, seed_key="K1") == []
    assert carried_seeds(home) == set() and build_tables() == ([("carry", "seed_fingerprint")], [("K1",)])
    # one seed table missing from the published warehouse: both are loaded again
    con = duckdb.connect(str(home.warehouse))
    con.execute("drop table marts.upsell_rules")
    con.close()
    assert reset_build(home, night, seeds=seeds, seed_key="K1") == []
    assert carried_seeds(home) == set()
