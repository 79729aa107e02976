"""Per-domain gates: a night whose finance gate fails still sends the printer its manifest, and the next night
catches up without sending anything twice."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from lifecycle.checks.gates import (
    Gates,
    Withheld,
    evaluate_dbt,
    read_gates,
    undomained_nodes,
)
from lifecycle.io import register
from lifecycle.io.warehouse import audited_source, connect_published, last_published_date
from lifecycle.pipelines.night import run_night
from lifecycle.settings import get_settings, load_settings
from lifecycle.summary import gate_lines
from tests.landing_files import CUSTOMER, OFFER, init_hand_written_home, order, write_feed, write_reference

CLOSE = date(2026, 3, 10)  # issue MAG-2026-04's list-close night
NEXT = CLOSE + timedelta(days=1)
SHIP = date(2026, 3, 15)


# -- which domain a dbt result belongs to --------------------------------------------------------

MANIFEST = {
    "metadata": {"project_name": "p"},
    "nodes": {
        "model.p.fct_invoices": {"resource_type": "model", "package_name": "p", "name": "fct_invoices",
                                 "config": {"meta": {"domain": "billing"}}},
        "model.p.fct_journal_lines": {"resource_type": "model", "package_name": "p", "name": "fct_journal_lines",
                                      "config": {"meta": {"domain": "finance"}}},
        "test.p.unique_fct_invoices_invoice_id": {
            "resource_type": "test", "package_name": "p", "name": "unique_fct_invoices_invoice_id",
            "config": {"meta": {}}, "attached_node": "model.p.fct_invoices"},
        "test.p.assert_trial_balance_sums_to_zero": {
            "resource_type": "test", "package_name": "p", "name": "assert_trial_balance_sums_to_zero",
            "config": {"meta": {"domain": "finance"}}, "attached_node": None},
        "test.p.orphan": {"resource_type": "test", "package_name": "p", "name": "orphan", "config": {"meta": {}}},
    },
    "unit_tests": {
        "unit_test.p.fct_journal_lines.balances": {
            "resource_type": "unit_test", "name": "balances", "model": "fct_journal_lines",
            "depends_on": {"nodes": ["model.p.fct_journal_lines"]}},
    },
}


def test_each_result_closes_the_gate_of_its_domain():
    results = [
        {"unique_id": "model.p.fct_invoices", "status": "success"},
        {"unique_id": "test.p.unique_fct_invoices_invoice_id", "status": "pass", "failures": 0},
        {"unique_id": "test.p.assert_trial_balance_sums_to_zero", "status": "fail", "failures": 2},
        {"unique_id": "unit_test.p.fct_journal_lines.balances", "status": "warn", "failures": 1},
        {"unique_id": "model.p.fct_journal_lines", "status": "skipped", "message": "SKIP"},
    ]
    gates = evaluate_dbt(CLOSE, MANIFEST, results)
    assert [(f.domain, f.check, f.message) for f in gates.failures] == [
        ("finance", "assert_trial_balance_sums_to_zero", "2 failing rows"),
        ("finance", "fct_journal_lines", "SKIP"),
    ]  # a warning is reported by dbt, never a gate
    assert gates.checks == {"billing": 1, "finance": 2}  # tests and unit tests, not models
    assert (gates.passed("billing"), gates.passed("finance"), gates.all_passed) == (True, False, False)
    assert gates.may_export("billing") and gates.may_export("fulfillment") and not gates.may_export("finance")
    assert gates.reason("fulfillment") == ""
    assert gates.reason() == "finance gate failed: assert_trial_balance_sums_to_zero (2 failing rows) and 1 more"
    assert Gates.from_dict(gates.as_dict()) == gates


def test_an_unknown_node_holds_everything_back():
    gates = evaluate_dbt(CLOSE, MANIFEST, [{"unique_id": "test.p.orphan", "status": "fail", "failures": 1}])
    assert gates.failed_domains() == ["foundation"]
    assert not any(gates.may_export(d) for d in ("billing", "fulfillment", "finance"))
    assert undomained_nodes(MANIFEST) == ["test.p.orphan"]


def test_every_model_seed_and_test_of_the_project_has_a_domain(dbt_manifest):
    assert undomained_nodes(json.loads(dbt_manifest.read_text(encoding="utf-8"))) == []


# -- a real night whose finance gate fails -------------------------------------------------------

def _rows(path) -> list[dict]:
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


@pytest.fixture(scope="module")
def gated_home(tmp_path_factory, dbt_manifest):
    path = tmp_path_factory.mktemp("gates") / "home"
    init_hand_written_home(path)
    load_settings.cache_clear()
    settings = get_settings(path)
    write_reference(settings, CLOSE)
    # a Canadian edition priced in CAD: its journal lines need a CAD rate, which has not arrived yet
    write_feed(settings, "offers", CLOSE, [OFFER, {**OFFER, "offer_id": "OF-PRINT-CAD", "price": "49.00",
                                                   "currency": "CAD", "countries": "CA",
                                                   "renewal_offer_id": "OF-PRINT-CAD"}])
    write_feed(settings, "offer_components", CLOSE, [
        {"offer_id": o, "component_seq": 1, "product_id": "MAG-PRINT", "quantity": 1}
        for o in ("OF-PRINT-USD", "OF-PRINT-CAD")])
    write_feed(settings, "customers", CLOSE, [
        CUSTOMER,
        {**CUSTOMER, "customer_id": "C-9", "first_name": "Cy", "last_name": "North", "address_line1": "9 King St",
         "city": "Toronto", "region": "ON", "postal_code": "M5H 2N2", "country": "CA", "email": "cy@example.org"},
    ])
    write_feed(settings, "issue_schedules", CLOSE, [
        {"issue_id": f"MAG-2026-{4 + k:02d}", "product_id": "MAG-PRINT", "cover_date": date(2026, 4 + k, 1).isoformat(),
         "list_close_date": (SHIP + timedelta(days=31 * k - 5)).isoformat(),
         "ship_date": (SHIP + timedelta(days=31 * k)).isoformat()}
        for k in range(8)
    ])
    write_feed(settings, "shippers", CLOSE, [
        {"shipper_id": "PRINT-1", "shipper_name": "Meridian Print", "role": "printer", "spoilage_percent": "0"}])
    write_feed(settings, "shipper_routing", CLOSE, [{"routing_id": "RT-1", "shipper_id": "PRINT-1"}])
    at = f"{CLOSE.isoformat()}T10:00:00-05:00"
    write_feed(settings, "orders", CLOSE, [
        order(order_id="O-1", subscription_id="S-1", ordered_at=at, service_start=CLOSE.isoformat()),
        order(order_id="O-9", customer_id="C-9", subscription_id="S-9", offer_id="OF-PRINT-CAD", unit_price="49.00",
              tax_rate="0.13", tax_amount="6.37", currency="CAD", ordered_at=at, service_start=CLOSE.isoformat()),
    ])
    withheld = run_night(settings, CLOSE, ephemeral=True)
    withheld.published_after = last_published_date(settings)
    with pytest.raises(Withheld) as refused:
        audited_source(settings, CLOSE, "gl_journal")
    withheld.gl_refused = str(refused.value)
    withheld.status = subprocess.run(  # what the operator types the morning after
        [sys.executable, "-m", "lifecycle.cli", "--home", str(settings.home), "status"], capture_output=True, text=True,
        timeout=120, cwd=Path(__file__).resolve().parents[1])
    night1 = {p.relative_to(settings.exports).as_posix(): p.read_bytes()
              for p in settings.exports.rglob("*") if p.is_file()}

    # the CAD rates arrive with the next day's files (dated back to the order day); one more order
    write_feed(settings, "fx_rates", NEXT, [{"currency": "CAD", "rate_date": CLOSE.isoformat(), "rate": "0.7400"}])
    write_feed(settings, "orders", NEXT, [
        order(order_id="O-2", subscription_id="S-2", ordered_at=f"{NEXT.isoformat()}T10:00:00-05:00",
              service_start=NEXT.isoformat())])
    caught_up = run_night(settings, NEXT, ephemeral=True)
    return settings, withheld, night1, caught_up


def test_finance_fails_the_warehouse_is_withheld_and_the_printer_gets_its_manifest(gated_home):
    settings, withheld, night1, _ = gated_home
    assert (withheld.success, withheld.published) == (False, False)
    gates = read_gates(settings, CLOSE)
    assert gates.failed_domains() == ["finance"]
    assert [f.check for f in gates.failures] == ["assert_every_foreign_amount_has_a_rate"]
    # the manifest of the list-close night went out from the audited build: both copies, one file
    manifest = f"manifests/{CLOSE}/PRINT-1/MAG-2026-04.csv"
    assert [r["manifest_line_id"] for r in _rows(settings.exports / manifest)] == [
        "S-1:1:MAG-2026-04", "S-9:1:MAG-2026-04"]
    assert json.loads(night1[f"manifests/{CLOSE}/control.json"])["copies"] == 2
    assert f"draws/{CLOSE}/PRINT-1.csv" in night1
    # billing's files went out too (its gate passed): the two prepaid invoices' messages
    assert f"outbox/{CLOSE}/messages.jsonl" in night1
    # nothing of finance's: no GL journal; and finance never saw the night
    assert not any(name.startswith("gl/") for name in night1)
    assert withheld.published_after is None
    assert withheld.gl_refused == ("gl_journal withheld for night 2026-03-10: finance gate failed: "
                                   "assert_every_foreign_amount_has_a_rate (1 failing row)")
    assert withheld.reason.startswith("withheld, the warehouse stays at no night: finance gate failed")
    lines = gate_lines(gates)
    assert lines[0].startswith("gates:    foundation passed") and "finance FAILED" in lines[0]
    assert lines[-2].startswith("written:  autocharge requests, refund requests, outbox messages, notice letters, "
                                "manifests, access changes")
    assert lines[-1].startswith("withheld: the warehouse, GL journal")


def test_status_the_morning_after_a_withheld_night(gated_home):
    """`lifecycle status` names the withheld night, its failing check and what was held back, and exits 1."""
    _, withheld, _, _ = gated_home
    status = withheld.status
    assert (status.returncode, status.stderr) == (1, "")
    lines = status.stdout.splitlines()
    assert lines[1] == "published:  no night yet"
    assert lines[2] == f"last night: {CLOSE} WITHHELD"
    assert "finance FAILED (" in lines[3] and "foundation passed (" in lines[3]
    assert lines[4] == "  failed:   finance: assert_every_foreign_amount_has_a_rate: 1 failing row"
    assert lines[5] == "  withheld: warehouse, GL journal"
    # what did go out is in the register: the printer's manifest line of the list-close night
    manifests = next(line for line in lines if line.startswith("manifests "))
    assert manifests.split() == ["manifests", CLOSE.isoformat(), "2", "2"]


def test_the_next_night_catches_up_without_sending_anything_twice(gated_home):
    settings, _, night1, caught_up = gated_home
    assert caught_up.published, caught_up.failures
    assert last_published_date(settings) == NEXT
    # only the new subscriber's copy: S-1 and S-9 are in the register since the withheld night
    assert [r["manifest_line_id"] for r in _rows(settings.exports / f"manifests/{NEXT}/PRINT-1/MAG-2026-04.csv")] == [
        "S-2:1:MAG-2026-04"]
    sent = register.read_register(settings, "manifest_lines").column("manifest_line_id").to_pylist()
    assert sorted(sent) == ["S-1:1:MAG-2026-04", "S-2:1:MAG-2026-04", "S-9:1:MAG-2026-04"]
    messages = register.read_register(settings, "outbox_messages").column("message_id").to_pylist()
    assert len(messages) == len(set(messages))
    # the GL export the withheld night could not write: March, with the CAD invoice at 0.7400
    con = connect_published(settings)
    cad = con.execute(
        "select sum(functional_debit) from marts.fct_journal_lines "
        "where currency = 'CAD' and account_code = (select account_code from marts.fct_journal_lines "
        "where source = 'invoice' and debit > 0 and currency = 'CAD' limit 1) and source = 'invoice'").fetchone()[0]
    con.close()
    assert str(cad) == "40.97"  # AR for the CAD invoice: (49.00 + 6.37) × 0.7400 = 40.9738
    assert (settings.exports / "gl" / "2026-03" / "journal.csv").exists()
    # the withheld night's files were not rewritten
    assert (settings.exports / f"manifests/{CLOSE}/PRINT-1/MAG-2026-04.csv").read_bytes() == night1[
        f"manifests/{CLOSE}/PRINT-1/MAG-2026-04.csv"]


def test_the_register_audit_finds_a_key_sent_twice_and_a_control_total_that_differs(home):
    import pyarrow as pa

    def night(day: date, ids: list[str], control_count: int) -> None:
        register.record(home, "outbox_messages", day, pa.table({"message_id": pa.array(ids, pa.string())}),
                        key="message_id")
        folder = home.exports / "outbox" / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "control.json").write_text(json.dumps({"messages": control_count}), encoding="utf-8")

    night(CLOSE, ["M1", "M2"], 2)
    assert register.audit(home, CLOSE) == []
    night(NEXT, ["M2", "M3"], 3)
    assert register.audit(home, NEXT) == [
        f"outbox_messages: exports/outbox/{NEXT}/control.json says 3 messages, the register holds 2 for night {NEXT}",
        f"outbox_messages: 1 keys of night {NEXT} were already sent by an earlier night, e.g. M2",
    ]
