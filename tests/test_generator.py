"""The sample publisher: determinism, contract-shaped files, migration + daily layout, planted bad rows."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pytest

from lifecycle.contract import FEEDS, RULES, TYPES, feed
from lifecycle.generator import generate
from lifecycle.generator.calendar import add_months, day_number, from_day
from lifecycle.keys import autocharge_request_key
from lifecycle.settings import DEFAULT_TOML, get_settings

START, END = date(2024, 1, 1), date(2026, 11, 24)
CUTOVER = END - timedelta(days=30)  # a month of daily files after the migration load
CUSTOMERS = 400
SEED = 11
TZ = ZoneInfo("America/New_York")
EVENT_ID = {f.name: f.key[0] for f in FEEDS if f.is_event}
MONEY = re.compile(r"^\d+\.\d{2}$")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("generated") / "home"
    return home, generate(home, CUSTOMERS, SEED, START, END, CUTOVER)


def _files(home: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(home)): p.read_bytes()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.parts[-2] != "state"
    }


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


def _bad_rows(home: Path) -> list[dict[str, str]]:
    return _read(home / "generator" / "bad_rows.csv")[1]


def _good_rows(home: Path) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Good rows per feed as (file date, row), skipping the planted bad lines."""
    bad = {(r["file"], int(r["line"])) for r in _bad_rows(home)}
    out: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
    for f in FEEDS:
        for path in sorted((home / "landing" / f.name).glob("*.csv")):
            rel = str(path.relative_to(home))
            _, rows = _read(path)
            out[f.name].extend((path.stem, row) for line, row in enumerate(rows, start=2) if (rel, line) not in bad)
    return out


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    a = _files_after(tmp_path / "a", SEED)
    b = _files_after(tmp_path / "b", SEED)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    c = _files_after(tmp_path / "c", SEED + 1)
    default_cutover = END - timedelta(days=7)
    assert f"landing/orders/{default_cutover}.csv" in a
    assert a[f"landing/orders/{default_cutover}.csv"] != c[f"landing/orders/{default_cutover}.csv"]


def _files_after(home: Path, seed: int) -> dict[str, bytes]:
    summary = generate(home, 150, seed, START, END)  # cut-over defaults to end - 7 days
    assert summary["cutover"] == (END - timedelta(days=7)).isoformat()
    return _files(home)


def test_summary_counts_match_the_files(generated: tuple[Path, dict]) -> None:
    home, summary = generated
    for name, count in summary["rows"].items():
        lines = sum(len(p.read_bytes().splitlines()) - 1 for p in (home / "landing" / name).glob("*.csv"))
        assert lines == count, name
    assert len(_bad_rows(home)) == sum(summary["bad_rows"].values()) == sum(summary["bad_rows_per_feed"].values())
    assert summary["files"] == len(list((home / "landing").glob("*/*.csv"))) + 1
    assert set(summary["bad_rows"]) <= set(RULES)


def test_every_file_header_is_the_contracts_columns(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    for f in FEEDS:
        paths = list((home / "landing" / f.name).glob("*.csv"))
        assert paths, f.name
        for path in paths:
            raw = path.read_bytes()
            raw.decode("utf-8")
            assert raw.split(b"\n", 1)[0].decode() == ",".join(f.column_names), path
            assert raw.endswith(b"\n") and b"\r" not in raw


def test_migration_load_on_the_cutover_then_daily_files(generated: tuple[Path, dict]) -> None:
    home, summary = generated
    assert summary["cutover"] == CUTOVER.isoformat()
    assert get_settings(home).cutover_date == CUTOVER
    # only the cutover line of the settings file changed
    toml = (home / "lifecycle.toml").read_text(encoding="utf-8").splitlines()
    default = DEFAULT_TOML.splitlines()
    changed = [(x, y) for x, y in zip(default, toml, strict=True) if x != y]
    assert len(changed) == 1 and changed[0][1].startswith(f'cutover_date = "{CUTOVER}"')
    daily = [CUTOVER + timedelta(days=i) for i in range(1, (END - CUTOVER).days + 1)]
    for f in FEEDS:
        dates = sorted(date.fromisoformat(p.stem) for p in (home / "landing" / f.name).glob("*.csv"))
        assert dates[0] == CUTOVER, f.name
        assert dates[-1] <= END
        if f.is_event:
            assert dates == [CUTOVER, *daily], f.name
    fx = sorted(date.fromisoformat(p.stem) for p in (home / "landing" / "fx_rates").glob("*.csv"))
    assert fx == [CUTOVER, *daily]
    assert len(list((home / "landing" / "products").glob("*.csv"))) == 1
    # some customers change address after the cut-over: a new version in a later file
    good = _good_rows(home)
    versions = defaultdict(list)
    for file_date, row in good["customers"]:
        versions[row["customer_id"]].append(file_date)
    moved = [d for d in versions.values() if len(d) > 1]
    assert moved and all(min(d) < max(d) and max(d) > CUTOVER.isoformat() for d in moved)


def test_money_has_two_decimals_and_booleans_are_words(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    for name, rows in _good_rows(home).items():
        contract = feed(name)
        money = [c.name for c in contract.columns if c.type == "money"]
        flags = [c.name for c in contract.columns if c.type == "boolean"]
        for _, row in rows:
            for col in money:
                optional = not contract.column(col).required
                assert (optional and row[col] == "") or MONEY.match(row[col]), (name, col, row[col])
            for col in flags:
                assert row[col] in ("true", "false"), (name, col, row[col])


def test_tax_identity_and_currency_of_every_good_order(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    good = _good_rows(home)
    offer_currency = {row["offer_id"]: row["currency"] for _, row in good["offers"]}
    for _, o in good["orders"]:
        net = int(o["quantity"]) * Decimal(o["unit_price"]) - Decimal(o["discount"])
        assert Decimal(o["discount"]) <= int(o["quantity"]) * Decimal(o["unit_price"])
        expected = (net * Decimal(o["tax_rate"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert Decimal(o["tax_amount"]) == expected, o
        assert o["currency"] == offer_currency[o["offer_id"]]


def test_good_events_are_never_recorded_before_they_happen(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    late = 0
    for name, rows in _good_rows(home).items():
        timed = [c for c in feed(name).columns if c.event_time]
        for file_date, row in rows:
            for col in timed:
                if col.type == "timestamp":
                    moment = datetime.fromisoformat(row[col.name])
                    # written with the business time zone's own offset at that moment
                    assert moment.utcoffset() == moment.astimezone(TZ).utcoffset(), row[col.name]
                    event = moment.astimezone(TZ).date()
                else:
                    event = date.fromisoformat(row[col.name])
                assert event <= date.fromisoformat(file_date), (name, row)
                if file_date > CUTOVER.isoformat() and event < date.fromisoformat(file_date):
                    late += 1
    assert late > 0  # a few rows arrive a day or two after their event


def test_ids_are_unique_and_references_resolve(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    good = _good_rows(home)
    for name in EVENT_ID:
        key = feed(name).key  # a manual journal line: entry and line number
        ids = [tuple(row[k] for k in key) for _, row in good[name]]
        assert len(ids) == len(set(ids)), name
    first_seen: dict[str, dict[str, str]] = defaultdict(dict)  # feed -> id -> first file date
    for name, key in (("customers", "customer_id"), ("orders", "order_id"), ("payments", "payment_id")):
        for file_date, row in good[name]:
            first_seen[name].setdefault(row[key], file_date)
    started: dict[str, str] = {}
    for file_date, o in good["orders"]:
        if o["order_type"] in ("new", "gift"):
            assert o["subscription_id"] not in started
            started[o["subscription_id"]] = file_date
    for file_date, o in good["orders"]:
        assert first_seen["customers"][o["customer_id"]] <= file_date
        assert started[o["subscription_id"]] <= file_date
    for file_date, p in good["payments"]:
        assert first_seen["customers"][p["customer_id"]] <= file_date
        if p["order_id"]:
            assert first_seen["orders"][p["order_id"]] <= file_date
        if p["original_payment_id"]:
            assert first_seen["payments"][p["original_payment_id"]] <= file_date
        assert p["invoice_id"] == ""
    for name in ("cancellations", "suspensions", "interactions", "service_actions"):
        for file_date, row in good[name]:
            if row["subscription_id"]:
                assert started[row["subscription_id"]] <= file_date, (name, row)
    # every manual journal entry of the good rows balances, in one file
    entries: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for file_date, row in good["manual_journals"]:
        entries[row["entry_id"]].append((file_date, row["debit"] or "0", row["credit"] or "0"))
    assert entries
    for entry, lines in entries.items():
        assert len({d for d, _, _ in lines}) == 1, entry
        assert sum(Decimal(d) for _, d, _ in lines) == sum(Decimal(c) for _, _, c in lines), entry


def test_bad_rows_point_at_their_lines(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    bad = _bad_rows(home)
    assert bad
    for r in bad:
        assert r["rule"] in RULES
        assert r["column"] in feed(r["feed"]).column_names
        lines = (home / r["file"]).read_text(encoding="utf-8").split("\n")
        header = lines[0].split(",")
        row = next(csv.reader([lines[int(r["line"]) - 1]]))
        assert dict(zip(header, row, strict=True))[EVENT_ID[r["feed"]]] == r["event_id"], r
    assert any(r["file"].endswith(f"{CUTOVER}.csv") for r in bad)
    assert any(not r["file"].endswith(f"{CUTOVER}.csv") for r in bad)


def test_bad_row_rate_is_about_one_in_two_hundred(generated: tuple[Path, dict]) -> None:
    home, summary = generated
    transactional = sum(summary["rows"][f.name] for f in FEEDS if f.is_event)
    assert 1 / 400 <= len(_bad_rows(home)) / transactional <= 1 / 100


def test_no_good_row_references_a_bad_row(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    good = _good_rows(home)
    bad_ids = {r["event_id"] for r in _bad_rows(home) if r["rule"] != "duplicate_id"}
    good_ids = {row[EVENT_ID[name]] for name in EVENT_ID for _, row in good[name]}
    assert not bad_ids & good_ids
    referencing = ("customer_id", "order_id", "original_payment_id", "subscription_id")
    for name, rows in good.items():
        for _, row in rows:
            for col in referencing:
                if col in row and col != EVENT_ID.get(name):
                    assert row[col] not in bad_ids, (name, row)
    # a duplicate is an exact replay of a good row (orders: replayed as a renewal)
    for r in _bad_rows(home):
        if r["rule"] == "duplicate_id":
            assert r["event_id"] in good_ids


def test_good_rows_parse_with_the_contract_read_types(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    bad = {(r["file"], int(r["line"])): r["rule"] for r in _bad_rows(home)}
    con = duckdb.connect()
    rejected = set()
    for f in FEEDS:
        columns = {c.name: TYPES[c.type]["read"] for c in f.columns}
        for path in sorted((home / "landing" / f.name).glob("*.csv")):
            con.execute(
                "select * from read_csv(?, header = true, delim = ',', quote = '\"', escape = '\"', "
                "auto_detect = false, strict_mode = true, store_rejects = true, columns = "
                + "{"
                + ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
                + "})",
                [str(path)],
            ).fetchall()
            rel = str(path.relative_to(home))
            for (line,) in con.execute("select distinct line from reject_errors").fetchall():
                rejected.add((rel, int(line)))
            con.execute("delete from reject_errors; delete from reject_scans")
    assert rejected <= set(bad), sorted(rejected - set(bad))[:5]
    for key, rule in bad.items():
        if rule in ("invalid_date", "invalid_decimal"):
            assert key in rejected, key


def test_autocharge_answers_carry_the_request_key(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    good = _good_rows(home)
    payments_by_customer = defaultdict(list)
    for _, p in good["payments"]:
        if p["autocharge_request_key"]:
            payments_by_customer[p["customer_id"]].append(p)
    checked = 0
    for _, o in good["orders"]:
        if o["offer_id"].startswith("DIGINTRO") and o["order_type"] == "new":
            start = date.fromisoformat(o["service_start"])
            end = from_day(int(add_months(np.array([day_number(start)]), np.array([1]))[0]))
            keys = {
                autocharge_request_key(o["subscription_id"], 1, a): end - timedelta(days=5 - d)
                for a, d in ((1, 0), (2, 3), (3, 7))
            }
            for p in payments_by_customer[o["customer_id"]]:
                if p["autocharge_request_key"] in keys:
                    assert date.fromisoformat(p["paid_at"][:10]) == keys[p["autocharge_request_key"]]
                    assert p["method"] == "card" and p["status"] in ("settled", "failed")
                    checked += 1
    assert checked > 0
    statuses = [p["status"] for rows in payments_by_customer.values() for p in rows]
    assert 0.02 < statuses.count("failed") / len(statuses) < 0.16


def test_month_terms_clamp_to_the_end_of_the_month() -> None:
    jan31 = day_number(date(2024, 1, 31))
    ends = add_months(np.full(3, jan31), np.array([1, 2, 3]))
    assert [from_day(int(d)) for d in ends] == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
    assert from_day(int(add_months(np.array([day_number(date(2024, 2, 29))]), np.array([12]))[0])) == date(2025, 2, 28)


def test_refuses_a_home_that_already_has_landing_files(generated: tuple[Path, dict]) -> None:
    home, _ = generated
    with pytest.raises(FileExistsError):
        generate(home, 10, SEED, START, END)
    with pytest.raises(ValueError):
        generate(home.parent / "other", 10, SEED, START, END, cutover=END + timedelta(days=1))
