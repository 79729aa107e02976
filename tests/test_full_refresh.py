"""A night computed incrementally and the same night computed from its inputs alone (``lifecycle nightly
--full-refresh``) publish the same warehouse and write the same files.

The published home's last night reused what the night before it kept: the billing engines' records of every
customer and subscription whose inputs did not change (lifecycle.billing.carry), and the carried models' rows of
every customer whose inputs did not change (dbt_project/macros/materializations/carried.sql). On a copy of the
home that night is run again with the full-refresh tag: every key is walked, every model built in full, nothing
is reused, and every published table (every row, every column, the carried models' states included) and every
export file must equal the incremental night's, byte for byte.
"""

from __future__ import annotations

import pytest

from lifecycle.assets.billing import ENGINES
from lifecycle.assets.warehouse import CARRIED_SEED
from lifecycle.billing.carry import night_summary
from lifecycle.io.warehouse import read_node_results
from lifecycle.pipelines.night import run_night
from tests.homes import END, copy_home, tree_files, warehouse_tables

pytestmark = pytest.mark.nights


def test_the_last_night_rebuilt_with_full_refresh_publishes_the_same_bytes(published_home, tmp_path):
    reference, _ = published_home
    incremental = {e.name: night_summary(reference.state / "engines" / e.name, END) for e in ENGINES}
    # the night being compared did reuse kept records: otherwise both runs would be full walks
    assert all(s is not None and s["reused"] > 0 and s["reused_from"] is not None for s in incremental.values()), \
        incremental
    carried = carried_models(reference)
    # and the carried models took most customers' rows from the night before, computing a few again
    assert set(carried) == {"fct_outbox_messages", "int_journal_lines", "int_customer_timeline",
                            "int_subscription_term_details", "int_carrying_amounts__deferred_revenue"}, carried
    for message in carried.values():
        kept, keys, rebuilt = _carried_counts(message)
        assert 0 < rebuilt < keys and kept + rebuilt == keys, carried
    # the seed tables were taken from the published warehouse, not loaded again
    assert _seeds(reference) == {"chart_of_accounts": CARRIED_SEED, "renewal_offer_rules": CARRIED_SEED,
                                 "upsell_rules": CARRIED_SEED}
    tables, exports = warehouse_tables(reference.warehouse), tree_files(reference.exports)
    register = tree_files(reference.state / "register")

    settings = copy_home(reference.home, tmp_path / "home")
    outcome = run_night(settings, END, ephemeral=True, full_refresh=True)
    assert outcome.published, (outcome.failures, outcome.gates and outcome.gates.failures)

    for engine in ENGINES:  # everything walked, nothing reused
        summary = night_summary(settings.state / "engines" / engine.name, END)
        assert summary["walked"] == summary["keys"] == incremental[engine.name]["keys"], (engine.name, summary)
        assert (summary["reused"], summary["reused_from"]) == (0, None), (engine.name, summary)
    assert carried_models(settings) == {name: "BUILT in full" for name in carried}
    assert set(_seeds(settings)) == {"chart_of_accounts", "renewal_offer_rules", "upsell_rules"}
    assert CARRIED_SEED not in _seeds(settings).values()  # loaded by dbt seed
    full = warehouse_tables(settings.warehouse)
    assert "carry.marts__fct_outbox_messages" in full
    assert sorted(full) == sorted(tables)
    assert [name for name in tables if full[name] != tables[name]] == []
    assert tree_files(settings.exports) == exports
    assert tree_files(settings.state / "register") == register


def _seeds(settings) -> dict[str, str | None]:
    """Tonight's seeds and the message of their result (dbt's, or the carried one)."""
    return {r["unique_id"].rsplit(".", 1)[1]: r["message"] for r in read_node_results(settings)
            if r["unique_id"].startswith("seed.")}


def carried_models(settings) -> dict[str, str]:
    """The carried models of tonight's build and what their materialization reported."""
    return {r["unique_id"].rsplit(".", 1)[1]: r["message"] for r in read_node_results(settings)
            if r["message"] and r["message"].startswith(("CARRIED", "BUILT in full"))}


def _carried_counts(message: str) -> tuple[int, int, int]:
    # "CARRIED <kept> of <keys> keys, <rebuilt> rebuilt"
    words = message.split()
    assert words[0] == "CARRIED", message
    return int(words[1]), int(words[3]), int(words[5])
