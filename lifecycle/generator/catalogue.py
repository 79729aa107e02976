"""The fictional publisher's reference data: products, rate card, credit policies, issues, shippers, FX."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lifecycle.generator.calendar import add_months, day_number, from_day

FUNCTIONAL_CURRENCY = "USD"
CURRENCIES = ("USD", "EUR", "GBP", "CAD")
#: Countries we sell to, and the currency each one buys in.
COUNTRIES = ("US", "CA", "GB", "FR", "DE", "IE", "NL")
COUNTRY_CURRENCY = {"US": "USD", "CA": "CAD", "GB": "GBP", "FR": "EUR", "DE": "EUR", "IE": "EUR", "NL": "EUR"}
#: Sales tax / VAT by country, in units of 0.0001 (625 = 6.25 %).
TAX_E4 = {"US": 625, "CA": 1300, "GB": 2000, "FR": 550, "DE": 700, "IE": 900, "NL": 900}
_PRICE_FACTOR = {"USD": 1.0, "EUR": 1.0, "GBP": 0.85, "CAD": 1.35}

UNITS = ("months", "issues", "shipments")
MONTHS, ISSUES, SHIPMENTS = 0, 1, 2

MAGAZINE = "MAG-PRINT"
BOOK_SKU = "SKU-MCL-VOL"
TOTE_SKU = "SKU-TOTE"


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    kind: str
    revenue_method: str
    channel: str
    usd_ssp_cents: int
    sku: str = ""
    shipment_interval_months: str = ""
    issues_per_year: str = ""


PRODUCTS = (
    Product(
        MAGAZINE, "The Meridian Review (print)", "print_publication", "per_issue", "ship", 4900, issues_per_year="12"
    ),
    Product(
        "MAG-DIGITAL",
        "The Meridian Review Digital",
        "digital_publication",
        "ratable_daily",
        "digital_access",
        7900,
        issues_per_year="12",
    ),
    Product(
        "BOOK-CLASSICS",
        "Meridian Classics Library, one volume a month",
        "continuity_series",
        "per_shipment",
        "ship",
        11940,
        sku=BOOK_SKU,
        shipment_interval_months="1",
    ),
    Product("MEMBER-GOLD", "Meridian Society — Gold", "membership", "ratable_daily", "none", 25000),
    Product("MEMBER-SILVER", "Meridian Society — Silver", "membership", "ratable_daily", "none", 12000),
    Product("MEMBER-BRONZE", "Meridian Society — Bronze", "membership", "ratable_daily", "none", 6000),
    Product("TOTE-BAG", "Meridian canvas tote", "physical_good", "point_in_time", "ship", 2500, sku=TOTE_SKU),
)


@dataclass(frozen=True)
class CreditPolicy:
    policy_id: str
    full_refund_days: int
    no_refund_after_days: int
    fee_type: str = "none"
    fee: str = ""


CREDIT_POLICIES = (
    CreditPolicy("CP-STANDARD", 30, 999),  # everything back for 30 days, then the unserved part, forever
    CreditPolicy("CP-NOREFUND", 0, 0),  # monthly plans: nothing back
    CreditPolicy("CP-MEMBERSHIP", 14, 14),  # everything back for 14 days, nothing after
    CreditPolicy("CP-CONTINUITY", 14, 999, "flat", "10.00"),
    CreditPolicy("CP-INSTITUTION", 0, 90, "percent", "10"),
    CreditPolicy("CP-GOODS", 30, 30),
)
_POLICY = {p.policy_id: p for p in CREDIT_POLICIES}


@dataclass(frozen=True)
class Plan:
    """One rate-card line, sold in every currency; the simulation's behaviour knobs ride along."""

    code: str
    name: str
    unit: int
    length: int
    usd_cents: int
    components: tuple[str, ...]
    policy: str
    renews_to: str | None  # plan code; the plan itself for "renews into itself"
    autorenew_allowed: bool = True
    segment: str = ""
    tier: str = ""
    cancel_p: float = 0.05  # chance a term is cancelled before its end
    renew_first: float = 0.55  # by-notice renewal rate of a first term
    renew_later: float = 0.75
    upgrade_to: str | None = None
    upgrade_p: float = 0.0
    hold_p: float = 0.0  # chance of a vacation hold during a term
    launched_after_cutover: bool = False


PLANS = (
    Plan(
        "PRT12",
        "The Meridian Review — 12 issues, print",
        ISSUES,
        12,
        4900,
        (MAGAZINE,),
        "CP-STANDARD",
        "PRT12",
        cancel_p=0.06,
        upgrade_to="BND12",
        upgrade_p=0.04,
        hold_p=0.05,
    ),
    Plan(
        "PRTINTRO",
        "The Meridian Review — first year half price",
        ISSUES,
        12,
        2450,
        (MAGAZINE,),
        "CP-STANDARD",
        "PRT12",
        cancel_p=0.07,
        renew_first=0.45,
        upgrade_to="BND12",
        upgrade_p=0.03,
        hold_p=0.05,
    ),
    Plan(
        "PRT24",
        "The Meridian Review — 24 issues, print",
        ISSUES,
        24,
        8900,
        (MAGAZINE,),
        "CP-STANDARD",
        "PRT24",
        cancel_p=0.05,
        renew_first=0.6,
        renew_later=0.8,
        hold_p=0.08,
    ),
    Plan(
        "DIGINTRO",
        "Meridian Digital — first month for 1",
        MONTHS,
        1,
        100,
        ("MAG-DIGITAL",),
        "CP-NOREFUND",
        "DIGM",
        cancel_p=0.22,
        renew_first=0.3,
        renew_later=0.3,
    ),
    Plan(
        "DIGM",
        "Meridian Digital, monthly",
        MONTHS,
        1,
        999,
        ("MAG-DIGITAL",),
        "CP-NOREFUND",
        "DIGM",
        cancel_p=0.045,
        renew_first=0.8,
        renew_later=0.8,
        upgrade_to="DIG12",
        upgrade_p=0.015,
    ),
    Plan(
        "DIG12",
        "Meridian Digital, annual",
        MONTHS,
        12,
        7900,
        ("MAG-DIGITAL",),
        "CP-STANDARD",
        "DIG12",
        cancel_p=0.06,
        renew_first=0.5,
        renew_later=0.7,
    ),
    Plan(
        "DIG24",
        "Meridian Digital, two years",
        MONTHS,
        24,
        13900,
        ("MAG-DIGITAL",),
        "CP-STANDARD",
        "DIG24",
        cancel_p=0.05,
        renew_first=0.5,
        renew_later=0.7,
        launched_after_cutover=True,
    ),
    Plan(
        "BND12",
        "The Meridian Review, print + digital — 12 issues",
        ISSUES,
        12,
        9900,
        (MAGAZINE, "MAG-DIGITAL"),
        "CP-STANDARD",
        "BND12",
        cancel_p=0.05,
        renew_first=0.6,
        renew_later=0.8,
        hold_p=0.05,
    ),
    Plan(
        "BOOK6",
        "Meridian Classics Library — 6 monthly volumes",
        SHIPMENTS,
        6,
        11940,
        ("BOOK-CLASSICS",),
        "CP-CONTINUITY",
        "BOOK6",
        cancel_p=0.12,
        renew_first=0.5,
        renew_later=0.7,
    ),
    Plan(
        "MEMB",
        "Meridian Society Bronze, annual",
        MONTHS,
        12,
        6000,
        ("MEMBER-BRONZE",),
        "CP-MEMBERSHIP",
        "MEMB",
        tier="bronze",
        cancel_p=0.04,
        renew_first=0.65,
        renew_later=0.85,
        upgrade_to="MEMS",
        upgrade_p=0.05,
    ),
    Plan(
        "MEMS",
        "Meridian Society Silver, annual",
        MONTHS,
        12,
        12000,
        ("MEMBER-SILVER",),
        "CP-MEMBERSHIP",
        "MEMS",
        tier="silver",
        cancel_p=0.04,
        renew_first=0.65,
        renew_later=0.85,
        upgrade_to="MEMG",
        upgrade_p=0.03,
    ),
    Plan(
        "MEMG",
        "Meridian Society Gold, annual",
        MONTHS,
        12,
        25000,
        ("MEMBER-GOLD",),
        "CP-MEMBERSHIP",
        "MEMG",
        tier="gold",
        cancel_p=0.03,
        renew_first=0.7,
        renew_later=0.9,
    ),
    Plan(
        "STUDIG12",
        "Meridian Digital, student annual",
        MONTHS,
        12,
        3900,
        ("MAG-DIGITAL",),
        "CP-STANDARD",
        "STUDIG12",
        segment="student",
        cancel_p=0.05,
        renew_first=0.5,
        renew_later=0.6,
    ),
    Plan(
        "INSTBND12",
        "The Meridian Review, institutional print + digital, 12 issues",
        ISSUES,
        12,
        14900,
        (MAGAZINE, "MAG-DIGITAL"),
        "CP-INSTITUTION",
        "INSTBND12",
        segment="institution",
        cancel_p=0.03,
        renew_first=0.8,
        renew_later=0.9,
    ),
    Plan(
        "TOTE",
        "Meridian canvas tote",
        SHIPMENTS,
        1,
        2500,
        ("TOTE-BAG",),
        "CP-GOODS",
        None,
        autorenew_allowed=False,
        cancel_p=0.02,
        renew_first=0.0,
        renew_later=0.0,
    ),
)
PLAN_INDEX = {p.code: i for i, p in enumerate(PLANS)}
#: The one price change of the history: the tote's price from the launch day on (USD cents).
TOTE_NEW_USD_CENTS = 2750


def local_price(usd_cents: int, currency: str) -> int:
    """A tidy local price: .99 prices stay .99, others round to the half unit; the 1.00 intro stays 1.00."""
    if usd_cents <= 100 or currency in ("USD", "EUR"):
        return usd_cents
    factor = _PRICE_FACTOR[currency]
    if usd_cents % 100 == 99:
        return int(round((usd_cents + 1) * factor / 100)) * 100 - 1
    return int(round(usd_cents * factor / 50)) * 50


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass
class Rows:
    """Reference rows of one feed: text per contract column, recorded day per row (in writing order)."""

    columns: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)
    recorded: list[int] = field(default_factory=list)

    def add(self, recorded: int, **values: str) -> None:
        self.rows.append({c: values.get(c, "") for c in self.columns})
        self.recorded.append(recorded)


@dataclass
class Catalogue:
    """Reference feeds as rows, plus the offer arrays the simulation indexes by offer number."""

    feeds: dict[str, Rows]
    offer_ids: list[str]
    offer_plan: np.ndarray
    offer_currency: np.ndarray
    offer_unit: np.ndarray
    offer_length: np.ndarray
    offer_price: np.ndarray
    offer_change_day: np.ndarray
    offer_change_price: np.ndarray
    offer_renewal: np.ndarray
    offer_upgrade: np.ndarray
    offer_full_refund_days: np.ndarray
    offer_valid_from: np.ndarray
    offer_of: dict[tuple[str, str], int]
    issue_ship_days: np.ndarray
    launch_day: int | None

    def price_at(self, offer: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.where(day >= self.offer_change_day[offer], self.offer_change_price[offer], self.offer_price[offer])

    def plan_array(self, attribute: str) -> np.ndarray:
        return np.array([getattr(p, attribute) for p in PLANS])[self.offer_plan]

    def term_end(
        self, offer: np.ndarray, start: np.ndarray, anchor: np.ndarray, months_before: np.ndarray
    ) -> np.ndarray:
        """Exclusive end of a term: months/shipments from the chain's anchor, issues by ship date."""
        unit = self.offer_unit[offer]
        length = self.offer_length[offer]
        by_months = add_months(anchor, months_before + length)
        first_issue = np.searchsorted(self.issue_ship_days, start, side="left")
        last = len(self.issue_ship_days) - 1
        by_issues = self.issue_ship_days[np.minimum(first_issue + length, last)]
        return np.where(unit == ISSUES, by_issues, by_months)


def build_catalogue(
    rng: np.random.Generator, contract_columns: dict[str, list[str]], customers: int, start: int, end: int, cutover: int
) -> Catalogue:
    feeds = {name: Rows(cols) for name, cols in contract_columns.items()}
    daily = end - cutover
    launch_day = cutover + max(1, daily // 3) if daily >= 1 else None

    for p in PRODUCTS:
        reorder = ""
        if p.sku == BOOK_SKU:
            reorder = str(max(20, customers // 50))
        elif p.sku == TOTE_SKU:
            reorder = str(max(10, customers // 400))
        feeds["products"].add(
            cutover,
            product_id=p.product_id,
            product_name=p.name,
            kind=p.kind,
            revenue_method=p.revenue_method,
            fulfillment_channel=p.channel,
            sku=p.sku,
            reorder_point=reorder,
            shipment_interval_months=p.shipment_interval_months,
            issues_per_year=p.issues_per_year,
        )
    for p in PRODUCTS:
        for cur in CURRENCIES:
            feeds["product_ssp"].add(
                cutover,
                product_id=p.product_id,
                currency=cur,
                standalone_selling_price=_money(local_price(p.usd_ssp_cents, cur)),
            )
    for cp in CREDIT_POLICIES:
        feeds["credit_policies"].add(
            cutover,
            credit_policy_id=cp.policy_id,
            full_refund_days=str(cp.full_refund_days),
            no_refund_after_days=str(cp.no_refund_after_days),
            cancellation_fee_type=cp.fee_type,
            cancellation_fee=cp.fee,
        )

    # --- the rate card -------------------------------------------------------------------
    countries_of = {cur: ";".join(c for c in COUNTRIES if COUNTRY_CURRENCY[c] == cur) for cur in CURRENCIES}
    valid_from = day_number(from_day(start).replace(month=1, day=1)) - 365
    offer_of: dict[tuple[str, str], int] = {}
    records = []
    for plan in PLANS:
        if plan.launched_after_cutover and launch_day is None:
            continue
        for cur in CURRENCIES:
            offer_of[(plan.code, cur)] = len(records)
            records.append((plan, cur))
    offer_ids = [f"{plan.code}-{cur}" for plan, cur in records]
    n = len(records)
    never = np.iinfo(np.int64).max // 4
    arrays = {
        k: np.zeros(n, dtype=np.int64)
        for k in (
            "plan",
            "cur",
            "unit",
            "length",
            "price",
            "change_day",
            "change_price",
            "renewal",
            "upgrade",
            "full_refund",
            "valid_from",
        )
    }
    for i, (plan, cur) in enumerate(records):
        price = local_price(plan.usd_cents, cur)
        arrays["plan"][i] = PLAN_INDEX[plan.code]
        arrays["cur"][i] = CURRENCIES.index(cur)
        arrays["unit"][i] = plan.unit
        arrays["length"][i] = plan.length
        arrays["price"][i] = price
        arrays["change_day"][i] = never
        arrays["change_price"][i] = price
        if plan.code == "TOTE" and launch_day is not None:
            arrays["change_day"][i] = launch_day
            arrays["change_price"][i] = local_price(TOTE_NEW_USD_CENTS, cur)
        arrays["renewal"][i] = offer_of[(plan.renews_to, cur)] if plan.renews_to else -1
        arrays["upgrade"][i] = offer_of[(plan.upgrade_to, cur)] if plan.upgrade_to else -1
        arrays["full_refund"][i] = _POLICY[plan.policy].full_refund_days
        arrays["valid_from"][i] = launch_day if plan.launched_after_cutover else valid_from

    def offer_row(i: int, price: int, recorded: int) -> None:
        plan, cur = records[i]
        feeds["offers"].add(
            recorded,
            offer_id=offer_ids[i],
            offer_name=plan.name,
            term_length=str(plan.length),
            term_unit=UNITS[plan.unit],
            price=_money(price),
            currency=cur,
            countries=countries_of[cur],
            segment=plan.segment,
            tier=plan.tier,
            autorenew_allowed="true" if plan.autorenew_allowed else "false",
            credit_policy_id=plan.policy,
            renewal_offer_id=offer_ids[arrays["renewal"][i]] if arrays["renewal"][i] >= 0 else "",
            available_from=from_day(int(arrays["valid_from"][i])).isoformat(),
            available_to="",
        )

    for i, (plan, _cur) in enumerate(records):
        recorded = launch_day if plan.launched_after_cutover else cutover
        offer_row(i, int(arrays["price"][i]), recorded)
        for seq, product in enumerate(plan.components, start=1):
            feeds["offer_components"].add(
                recorded, offer_id=offer_ids[i], component_seq=str(seq), product_id=product, quantity="1"
            )
    if launch_day is not None:  # the tote's price change: a new version of its offer rows
        for cur in CURRENCIES:
            i = offer_of[("TOTE", cur)]
            offer_row(i, int(arrays["change_price"][i]), launch_day)

    # --- the magazine's issues: cover on the 1st, ship ~10 days before, list close 5 before ship ---
    first = from_day(int(add_months(np.array([start]), np.array([-12]))[0])).replace(day=1)
    last = from_day(int(add_months(np.array([end]), np.array([37]))[0]))
    n_issues = (last.year - first.year) * 12 + last.month - first.month + 1
    covers = add_months(np.full(n_issues, day_number(first)), np.arange(n_issues))
    ship = covers - 10 + rng.integers(-1, 2, size=len(covers))
    close = ship - 5
    for cover, ship_day, close_day in zip(covers.tolist(), ship.tolist(), close.tolist(), strict=True):
        c = from_day(cover)
        feeds["issue_schedules"].add(
            cutover,
            issue_id=f"MR-{c.year}-{c.month:02d}",
            product_id=MAGAZINE,
            cover_date=c.isoformat(),
            list_close_date=from_day(close_day).isoformat(),
            ship_date=from_day(ship_day).isoformat(),
        )

    # --- shippers and routing ------------------------------------------------------------
    for sid, name, role, spoilage in (
        ("PRINTER-MPW", "Meridian Print Works, Inc.", "printer", "2.5"),
        ("MAIL-EAST", "Atlantic Mailing House", "mailing_house", "0.5"),
        ("MAIL-WEST", "Pacific Mail Services", "mailing_house", "0.5"),
        ("MAIL-CA", "Maple Leaf Fulfilment", "fulfillment_house", "1"),
        ("MAIL-UK", "Thames Distribution Ltd", "mailing_house", "1"),
        ("MAIL-INTL", "Global Post Forwarding", "fulfillment_house", "1.5"),
    ):
        feeds["shippers"].add(cutover, shipper_id=sid, shipper_name=name, role=role, spoilage_percent=spoilage)
    for rid, country, prefix, sid in (
        ("RT-01", "US", "9", "MAIL-WEST"),
        ("RT-02", "US", "8", "MAIL-WEST"),
        ("RT-03", "US", "", "MAIL-EAST"),
        ("RT-04", "CA", "", "MAIL-CA"),
        ("RT-05", "GB", "", "MAIL-UK"),
        ("RT-06", "", "", "MAIL-INTL"),
    ):
        feeds["shipper_routing"].add(cutover, routing_id=rid, country=country, postal_prefix=prefix, shipper_id=sid)

    # --- FX: USD per one unit, a daily random walk from start to end ------------------------
    days = np.arange(start, end + 1)
    walks = {}
    for cur, level in (("EUR", 1.08), ("GBP", 1.27), ("CAD", 0.74)):
        walk = np.exp(np.cumsum(rng.normal(0.0, 0.004, size=len(days))))
        walks[cur] = np.rint(level * walk * 1_000_000).astype(np.int64).tolist()
    for i, day in enumerate(days.tolist()):
        for cur, micro in walks.items():
            rate = micro[i]
            feeds["fx_rates"].add(
                max(day, cutover),
                currency=cur,
                rate_date=from_day(day).isoformat(),
                rate=f"{rate // 1_000_000}.{rate % 1_000_000:06d}",
            )

    return Catalogue(
        feeds=feeds,
        offer_ids=offer_ids,
        offer_plan=arrays["plan"],
        offer_currency=arrays["cur"],
        offer_unit=arrays["unit"],
        offer_length=arrays["length"],
        offer_price=arrays["price"],
        offer_change_day=arrays["change_day"],
        offer_change_price=arrays["change_price"],
        offer_renewal=arrays["renewal"],
        offer_upgrade=arrays["upgrade"],
        offer_full_refund_days=arrays["full_refund"],
        offer_valid_from=arrays["valid_from"],
        offer_of=offer_of,
        issue_ship_days=np.sort(ship.astype(np.int64)),
        launch_day=launch_day,
    )
