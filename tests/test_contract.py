"""The feed contract is consistent, and everything generated from it is up to date."""

from __future__ import annotations

import re

from lifecycle.contract import FEEDS, RULES, TYPES, feed, ingestion_order
from lifecycle.contract_render import feeds_markdown, rendered_files


def test_every_reference_names_an_existing_column():
    for f in FEEDS:
        for col in f.columns:
            if col.references:
                target, column = col.references.split(".")
                assert column in feed(target).column_names, f"{f.name}.{col.name} → {col.references}"


def test_keys_are_columns_and_rules_are_known():
    for f in FEEDS:
        assert set(f.key) <= set(f.column_names), f.name
        assert len(set(f.column_names)) == len(f.column_names), f.name
        for rr in f.row_rules:
            assert rr.rule in RULES and rr.column in f.column_names, (f.name, rr)
        for col in f.columns:
            assert col.type in TYPES


def test_ingestion_order_puts_referenced_feeds_first():
    order = ingestion_order()
    assert sorted(order) == sorted(f.name for f in FEEDS)
    for f in FEEDS:
        for up in f.upstream_feeds:
            assert order.index(up) < order.index(f.name), (up, f.name)


def test_the_feeds_of_the_specification_are_all_there():
    expected = {"customers", "products", "product_ssp", "offers", "offer_components", "credit_policies",
                "issue_schedules", "shippers", "shipper_routing", "fx_rates", "inventory_receipts", "orders",
                "payments", "cancellations", "suspensions", "interactions", "service_actions", "manual_journals"}
    assert {f.name for f in FEEDS} == expected


def test_generated_files_match_the_contract():
    stale = [str(p) for p, text in rendered_files().items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert stale == [], "run `lifecycle contract --write`"


def test_docs_list_every_column_and_rule():
    doc = feeds_markdown()
    for f in FEEDS:
        section = doc.split(f"## `{f.name}`", 1)[1].split("\n## ", 1)[0]
        for col in f.columns:
            assert re.search(rf"\| `{col.name}` \| {col.type} \|", section), (f.name, col.name)
    for rule in RULES:
        assert f"`{rule}`" in doc


def test_events_are_keyed_by_their_id_and_a_manual_journal_line_by_entry_and_line():
    """Staging's keep_first_occurrence and the duplicate_id rule key events on their key columns; only manual
    journals have two (an entry's lines), and their entries are accepted or refused whole."""
    for f in FEEDS:
        if f.is_event and f.name != "manual_journals":
            assert len(f.key) == 1, f.name
    journals = feed("manual_journals")
    assert journals.key == ("entry_id", "line_number") and journals.group_key == ("entry_id",)
    assert {r.rule for r in journals.group_rules} == {"invalid_row", "unbalanced_entry"}