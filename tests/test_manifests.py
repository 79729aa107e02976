"""Print manifests end to end: two real nights of a small home — the list-close night and a supplementary one."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from lifecycle.io import register
from lifecycle.io.exports import spreadsheet_safe
from lifecycle.io.manifests import MANIFEST_COLUMNS, circulation_differences, export_manifests, spoilage_allowance
from lifecycle.io.warehouse import connect_published
from lifecycle.pipelines.night import run_night
from lifecycle.settings import get_settings, load_settings
from tests.landing_files import (
    CREDIT_POLICY,
    CUSTOMER,
    OFFER,
    PRODUCT,
    init_hand_written_home,
    order,
    write_feed,
    write_reference,
)

CLOSE = date(2026, 3, 10)  # issue MAG-2026-04's list-close night: its main manifest
NEXT = CLOSE + timedelta(days=1)  # a supplementary night: copies entitled since
SHIP = date(2026, 3, 15)
FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'


def test_spreadsheet_safe_neutralises_formula_cells():
    assert spreadsheet_safe(FORMULA_NAME) == "'" + FORMULA_NAME
    assert [spreadsheet_safe(c) for c in ("+1", "-2", "@SUM(1)", "\tx", "\rx")] == [
        "'+1", "'-2", "'@SUM(1)", "'\tx", "'\rx"]
    assert [spreadsheet_safe(c) for c in ("Ann Lee", "02134", "", "a=b")] == ["Ann Lee", "02134", "", "a=b"]


def test_spoilage_allowance_rounds_up():
    # 2.5 % of 41 copies is 1.025 copies: the printer gets 2 more, never one short
    assert spoilage_allowance(41, Decimal("2.5")) == 2
    assert spoilage_allowance(40, Decimal("2.5")) == 1  # exactly 1.000: no rounding
    assert spoilage_allowance(6, Decimal("0")) == 0


def customer(customer_id: str, **overrides) -> dict:
    return {**CUSTOMER, "customer_id": customer_id, **overrides}


def paid(order_id: str, customer_id: str, amount: str, day: date) -> dict:
    return {"payment_id": f"P-{order_id}", "customer_id": customer_id, "order_id": order_id,
            "paid_at": f"{day.isoformat()}T11:00:00-05:00", "amount": amount, "currency": "USD", "method": "card",
            "status": "settled"}


@pytest.fixture(scope="module")
def manifest_home(tmp_path_factory, dbt_manifest):
    path = tmp_path_factory.mktemp("manifests") / "home"
    init_hand_written_home(path)
    load_settings.cache_clear()
    settings = get_settings(path)
    write_reference(settings, CLOSE)
    # a digital edition with an issue schedule (three issues a year, one closing its list tonight): access, not copies
    write_feed(settings, "products", CLOSE, [PRODUCT, {
        "product_id": "DIG-ED", "product_name": "The Quarterly, digital edition", "kind": "digital_publication",
        "revenue_method": "per_issue", "fulfillment_channel": "digital_access", "issues_per_year": 3}])
    write_feed(settings, "credit_policies", CLOSE, [CREDIT_POLICY])
    write_feed(settings, "offers", CLOSE, [OFFER, {
        **OFFER, "offer_id": "OF-DIG3", "offer_name": "Digital edition, 3 issues", "term_length": 3,
        "price": "15.00", "renewal_offer_id": "OF-DIG3"}])
    write_feed(settings, "offer_components", CLOSE, [
        {"offer_id": "OF-PRINT-USD", "component_seq": 1, "product_id": "MAG-PRINT", "quantity": 1},
        {"offer_id": "OF-DIG3", "component_seq": 1, "product_id": "DIG-ED", "quantity": 1}])
    write_feed(settings, "customers", CLOSE, [
        customer("C-1", first_name="Ann", last_name="Lee", postal_code="02134"),
        customer("C-2", first_name=FORMULA_NAME, last_name="Moe", postal_code="01101"),
        customer("C-3", first_name="Una", last_name="Deliverable", undeliverable="true"),
        customer("C-4", first_name="Wes", last_name="Coast", city="Oakland", region="CA", postal_code="94601"),
    ])
    write_feed(settings, "issue_schedules", CLOSE, [
        {"issue_id": f"MAG-{cover.year}-{cover.month:02d}", "product_id": "MAG-PRINT", "cover_date": cover.isoformat(),
         "list_close_date": (ship - timedelta(days=5)).isoformat(), "ship_date": ship.isoformat()}
        for k in range(14)
        for cover in [date(2026 + (3 + k) // 12, (3 + k) % 12 + 1, 1)]
        for ship in [SHIP + timedelta(days=31 * k)]
    ] + [
        {"issue_id": f"DIG-2026-{month:02d}", "product_id": "DIG-ED", "cover_date": f"2026-{month:02d}-01",
         "list_close_date": close.isoformat(), "ship_date": (close + timedelta(days=5)).isoformat()}
        for month, close in [(4, CLOSE), (8, date(2026, 7, 10)), (12, date(2026, 11, 10))]
    ])
    write_feed(settings, "shippers", CLOSE, [
        {"shipper_id": "MAIL-EAST", "shipper_name": "Atlantic Mailing", "role": "mailing_house",
         "spoilage_percent": "0.5"},
        {"shipper_id": "PRINT-1", "shipper_name": "Meridian Print", "role": "printer", "spoilage_percent": "2.5"},
    ])
    write_feed(settings, "shipper_routing", CLOSE, [
        {"routing_id": "RT-1", "country": "US", "postal_prefix": "9", "shipper_id": "PRINT-1"},
        {"routing_id": "RT-2", "country": "US", "shipper_id": "MAIL-EAST"},
        {"routing_id": "RT-3", "shipper_id": "PRINT-1"},
    ])
    start = CLOSE.isoformat()
    at = f"{start}T10:00:00-05:00"
    write_feed(settings, "orders", CLOSE, [
        order(order_id="O-1", customer_id="C-1", subscription_id="S-1", ordered_at=at, service_start=start),
        order(order_id="O-2", customer_id="C-2", subscription_id="S-2", ordered_at=at, service_start=start),
        order(order_id="O-3", customer_id="C-3", subscription_id="S-3", ordered_at=at, service_start=start),
        order(order_id="O-4", customer_id="C-4", subscription_id="S-4", ordered_at=at, service_start=start,
              quantity=3, tax_amount="7.31"),
        order(order_id="O-5", customer_id="C-1", subscription_id="S-5", ordered_at=at, service_start=start,
              order_type="gift", ship_to_name="Gil Recipient", ship_to_address_line1="5 Elm St",
              ship_to_city="Salem", ship_to_region="MA", ship_to_postal_code="01970", ship_to_country="US"),
        order(order_id="O-7", customer_id="C-4", subscription_id="S-7", ordered_at=at, service_start=start,
              offer_id="OF-DIG3", unit_price="15.00", tax_amount="0.94"),
    ])
    write_feed(settings, "payments", CLOSE, [paid("O-1", "C-1", "41.44", CLOSE), paid("O-4", "C-4", "124.31", CLOSE),
                                             paid("O-7", "C-4", "15.94", CLOSE)])
    first = run_night(settings, CLOSE, ephemeral=True)
    assert first.published, first.failures
    night1 = _snapshot(settings, CLOSE)
    next_at = f"{NEXT.isoformat()}T10:00:00-05:00"
    write_feed(settings, "orders", NEXT, [
        order(order_id="O-6", customer_id="C-1", subscription_id="S-6", ordered_at=next_at,
              service_start=NEXT.isoformat()),
    ])
    second = run_night(settings, NEXT, ephemeral=True)
    assert second.published, second.failures
    return settings, night1, _snapshot(settings, NEXT)


def _snapshot(settings, night: date) -> dict:
    """What the published warehouse and the files say after night ``night``."""
    con = connect_published(settings)
    lines = con.execute(
        "select manifest_line_id, shipper_id, issue_id, quantity, country, entitlement_kind "
        "from marts.fct_manifest_lines order by 1").fetchall()
    con.close()
    files = {str(p.relative_to(settings.exports)): p.read_bytes()
             for root in ("manifests", "draws") for p in (settings.exports / root / night.isoformat()).rglob("*")
             if p.is_file()}
    return {"lines": lines, "files": files}


def rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(data.decode().splitlines()))


def test_list_close_night_writes_one_file_per_shipper_and_issue(manifest_home):
    _, night1, _ = manifest_home
    files = night1["files"]
    day = CLOSE.isoformat()
    assert sorted(files) == sorted([
        f"manifests/{day}/control.json", f"manifests/{day}/MAIL-EAST/MAG-2026-04.csv",
        f"manifests/{day}/MAIL-EAST/control.json", f"manifests/{day}/PRINT-1/MAG-2026-04.csv",
        f"manifests/{day}/PRINT-1/control.json", f"draws/{day}/PRINT-1.csv",
    ])
    east = files[f"manifests/{day}/MAIL-EAST/MAG-2026-04.csv"]
    assert east.decode().splitlines()[0] == ",".join(f'"{c}"' for c in MANIFEST_COLUMNS)
    east_rows = rows(east)
    # sorted by postal code; the gift goes to its recipient; C-3 is undeliverable: no copy
    assert [(r["manifest_line_id"], r["postal_code"], r["name"]) for r in east_rows] == [
        ("S-2:1:MAG-2026-04", "01101", "'" + FORMULA_NAME + " Moe"),
        ("S-5:1:MAG-2026-04", "01970", "Gil Recipient"),
        ("S-1:1:MAG-2026-04", "02134", "Ann Lee"),
    ]
    assert {r["manifest_line_id"]: r["entitlement_kind"] for r in east_rows} == {
        "S-1:1:MAG-2026-04": "paid", "S-2:1:MAG-2026-04": "unpaid_allowed", "S-5:1:MAG-2026-04": "unpaid_allowed"}
    west = rows(files[f"manifests/{day}/PRINT-1/MAG-2026-04.csv"])
    assert [(r["manifest_line_id"], r["quantity"], r["postal_code"]) for r in west] == [
        ("S-4:1:MAG-2026-04", "3", "94601")]


def test_control_totals_equal_the_warehouse(manifest_home):
    _, night1, _ = manifest_home
    day = CLOSE.isoformat()
    for shipper in ("MAIL-EAST", "PRINT-1"):
        control = json.loads(night1["files"][f"manifests/{day}/{shipper}/control.json"])
        mine = [line for line in night1["lines"] if line[1] == shipper]
        assert control["lines"] == len(mine) == control["files"]["MAG-2026-04.csv"]["lines"]
        assert control["copies"] == sum(line[3] for line in mine)
        assert control["copies_by_country"] == {"US": sum(line[3] for line in mine)}
    night = json.loads(night1["files"][f"manifests/{day}/control.json"])
    assert (night["lines"], night["copies"], night["by_shipper"]) == (4, 6, {"MAIL-EAST": 3, "PRINT-1": 3})
    # every copy is printed by the one printer: 6 copies + ceil(6 × 2.5 %) = 7
    draw = rows(night1["files"][f"draws/{day}/PRINT-1.csv"])
    assert draw == [{"issue_id": "MAG-2026-04", "product_id": "MAG-PRINT", "ship_date": SHIP.isoformat(),
                     "copies": "6", "spoilage_percent": "2.5", "spoilage_allowance": "1", "total_draw": "7"}]
    assert night["draws"] == {"PRINT-1": 7}


def test_supplementary_night_sends_only_new_copies_and_a_rerun_is_identical(manifest_home):
    settings, night1, night2 = manifest_home
    day = NEXT.isoformat()
    # the warehouse still holds last night's copies; only the new subscriber's is sent again
    assert {line[0] for line in night2["lines"]} == {line[0] for line in night1["lines"]} | {"S-6:1:MAG-2026-04"}
    assert [r["manifest_line_id"] for r in rows(night2["files"][f"manifests/{day}/MAIL-EAST/MAG-2026-04.csv"])] == [
        "S-6:1:MAG-2026-04"]
    assert f"manifests/{day}/PRINT-1/MAG-2026-04.csv" not in night2["files"]
    sent = register.read_register(settings, "manifest_lines").column("manifest_line_id").to_pylist()
    assert sorted(sent) == sorted(line[0] for line in night2["lines"])  # each copy once, across both nights
    export_manifests(settings, NEXT)  # a rerun of the published night
    assert _snapshot(settings, NEXT)["files"] == night2["files"]


def test_circulation_by_issue_is_what_the_register_sent(manifest_home):
    settings, _, _ = manifest_home
    con = connect_published(settings)
    rows = con.execute(
        "select issue_id, country, paid_copies, unpaid_allowed_copies, graced_copies, complimentary_copies, "
        "reship_copies, total_copies, issue_copies, issue_draw from marts.rpt_circulation_by_issue").fetchall()
    con.close()
    # paid: S-1 (1) and S-4 (3 copies); unpaid within the allowance: S-2, the gift S-5 and night 2's S-6;
    # the undeliverable C-3 gets none. Draw: 6 copies + 1 spoiled on the list-close night, 1 + 1 the next night
    assert rows == [("MAG-2026-04", "US", 4, 3, 0, 0, 0, 7, 7, 9)]
    assert circulation_differences(settings, NEXT) == []
    drawn = register.read_register(settings, "draws").to_pylist()
    assert [(d["night"], d["printer_id"], d["copies"], d["total_draw"]) for d in drawn] == [
        (CLOSE, "PRINT-1", 6, 7), (NEXT, "PRINT-1", 1, 2)]


def test_a_digital_edition_with_an_issue_schedule_gets_access_and_per_issue_revenue_not_copies(manifest_home):
    """S-7 takes three issues of DIG-ED, a digital edition whose first issue closes its list tonight too: no
    manifest line, file or draw; access from its start; revenue per issue, at each ship date."""
    settings, night1, night2 = manifest_home
    assert not [line for night in (night1, night2) for line in night["lines"] if line[2].startswith("DIG-")]
    assert not [name for night in (night1, night2) for name in night["files"] if "DIG-" in name]
    con = connect_published(settings)
    try:
        access = con.execute(
            "select customer_id, product_id, access_start, access_end, subscription_id "
            "from marts.fct_access_entitlements where product_id = 'DIG-ED'").fetchall()
        revenue = con.execute(
            "select line_kind, delivery_number, recognition_date, scheduled_amount, recognised_amount "
            "from marts.fct_revenue_schedule where subscription_id = 'S-7' order by delivery_number").fetchall()
        draws = con.execute("select count(*) from marts.rpt_circulation_by_issue where issue_id like 'DIG-%'").fetchone()
    finally:
        con.close()
    # the schedule holds the term's three issues and none after: its end, the next issue's date, is not known yet,
    # so access is open-ended
    assert access == [("C-4", "DIG-ED", CLOSE, None, "S-7")]
    # 15.00 over three issues, earned at each issue's date; none has come by night 2 (11 March)
    assert revenue == [
        ("delivery", 1, date(2026, 3, 15), Decimal("5.00"), Decimal("0.00")),
        ("delivery", 2, date(2026, 7, 15), Decimal("5.00"), Decimal("0.00")),
        ("delivery", 3, date(2026, 11, 15), Decimal("5.00"), Decimal("0.00")),
    ]
    assert draws == (0,)
