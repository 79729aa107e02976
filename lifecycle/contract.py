"""The feed contract: every landing feed's columns, types, rules, keys and references, in one place.

Validation (``lifecycle.io.ingest``), the GX suites (``lifecycle.checks.gx_suites``), the dbt
sources YAML and ``docs/feeds.md`` are all generated from the objects below
(``lifecycle contract --write`` regenerates the two files; a test fails when they drift).

File format shared by every feed: UTF-8 CSV, comma separated, ``"`` quoting (doubled to escape),
one header line with exactly the contract's column names (order free), ``\\n`` or ``\\r\\n`` line
ends, an optional BOM. Dates are ``YYYY-MM-DD``; timestamps are ISO 8601 with a UTC offset
of at most ±14:00 (``2026-11-24T09:15:00-05:00``); amounts are plain decimals with at most two
places (``1234.50``); booleans are ``true``/``false``; an empty field is a missing value. A record
is one line: no value holds a line break or any other control character.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

#: ISO 4217 currencies the system accepts. Each has two minor units; any other code is refused.
SUPPORTED_CURRENCIES: tuple[str, ...] = (
    "AUD", "CAD", "CHF", "DKK", "EUR", "GBP", "NOK", "NZD", "SEK", "USD",
)

#: The largest plausible numbers, in digits before the decimal point (leading zeros aside): larger is
#: ``out_of_range``. They keep every product the rules and models compute (quantity × price × rate)
#: inside DECIMAL(38): an amount below 10^12, a rate below 10^6, a whole number below 10^9.
INTEGER_DIGITS: dict[str, int] = {"integer": 9, "decimal": 6, "money": 12}
#: Decimal places a type keeps (``too_many_decimals`` beyond them, unless the extra digits are zeros).
SCALE: dict[str, int] = {"decimal": 8, "money": 2}
#: The dates the warehouse holds: its month calendar runs from 2000-01 to 2099-12, and the last plausible
#: date leaves room for a ten-year term to end inside it. A date or a timestamp's local date outside this
#: window is ``implausible_date`` at the door, never a night that fails later.
EARLIEST_DATE = "2000-01-01"
LATEST_DATE = "2089-12-31"

#: Column types of the contract and how each is parsed.
#: ``read`` is the type a line's text is parsed into: by DuckDB's CSV reader (a failure is a CSV reject),
#: except numbers, read as text and converted only when the text is an exact, plausible number
#: (``lifecycle.io.ingest``: no reader rounding, no overflow);
#: ``store`` is the type written to raw Parquet and read by dbt.
TYPES: dict[str, dict[str, str]] = {
    "text": {"read": "VARCHAR", "store": "VARCHAR"},
    "integer": {"read": "BIGINT", "store": "BIGINT"},
    "decimal": {"read": "DECIMAL(18,8)", "store": "DECIMAL(18,8)"},
    "money": {"read": "DECIMAL(18,2)", "store": "DECIMAL(18,2)"},
    "date": {"read": "DATE", "store": "DATE"},
    # Timestamps are parsed after the read so that a value without a UTC offset is refused
    # instead of being silently taken in the session's time zone.
    "timestamp": {"read": "VARCHAR", "store": "TIMESTAMPTZ"},
    "boolean": {"read": "BOOLEAN", "store": "BOOLEAN"},
    "currency": {"read": "VARCHAR", "store": "VARCHAR"},
    "country": {"read": "VARCHAR", "store": "VARCHAR"},
}

#: Every quarantine rule, in the order they are evaluated on a line (the first failing one is
#: the line's rule; the others are listed beside it). CSV-reader rules come first.
RULES: dict[str, str] = {
    "missing_columns": "the line has fewer fields than the header",
    "too_many_columns": "the line has more fields than the header",
    "malformed_line": "the line cannot be parsed as CSV (a quote left open on it, or closed before more text)",
    "control_character": "a value holds a control character (NUL, tab, a lone CR, …)",
    "invalid_integer": "not a whole number",
    "invalid_decimal": "not a decimal number (NaN, infinity and thousands separators are refused)",
    "invalid_date": "not a valid YYYY-MM-DD date",
    "invalid_boolean": "not true or false",
    "invalid_timestamp": "not an ISO 8601 timestamp with a UTC offset",
    "missing_value": "a required field is empty",
    "too_many_decimals": "more decimal places than the column keeps (two for an amount, eight for a rate); "
                         "trailing zeros are fine",
    "out_of_range": "a number too large to be plausible (see the number formats): refused, never rounded or "
                    "overflowed",
    "implausible_date": "a date (or a timestamp's local date) outside the dates the warehouse can hold",
    "unsupported_currency": "not one of the supported ISO 4217 currencies",
    "invalid_country": "not an ISO 3166-1 alpha-2 country code (two capital letters)",
    "not_allowed": "not one of the allowed values",
    "below_minimum": "below the column's minimum",
    "after_recorded_date": "the event is dated after the end of the file's recorded date",
    "exceeds_original_payment": "refunds and chargebacks of one payment would add up to more than it",
    "duplicate_id": "an event id already seen, in this file or an earlier one",
    "duplicate_key": "a reference key given twice in the same file",
    "unknown_reference": "names a row of another feed (or of this one) that does not exist",
    "invalid_row": "the row breaks a rule that ties several of its columns (see the feed's row rules)",
    "unbalanced_entry": "a manual journal entry whose debits and credits differ in one of its currencies: "
                        "every line of the entry is refused",
    "entry_refused": "another line of the same entry is refused, so this one is too: an entry is posted whole "
                     "or not at all",
}

CSV_ERROR_RULES: dict[str, str] = {
    "MISSING COLUMNS": "missing_columns",
    "TOO MANY COLUMNS": "too_many_columns",
    "UNQUOTED VALUE": "malformed_line",
    "LINE SIZE OVER MAXIMUM": "malformed_line",
    "INVALID ENCODING": "malformed_line",
    "INVALID UNICODE": "malformed_line",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    minimum: Decimal | None = None
    references: str | None = None  # "feed.column"; checked against rows recorded on or before D
    event_time: bool = False  # must fall on or before the file's recorded date (business tz)

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type}")


@dataclass(frozen=True)
class RowRule:
    """A rule over several columns of one row; ``violation`` is SQL over the typed row ``t``."""

    column: str
    violation: str
    description: str
    rule: str = "invalid_row"


@dataclass(frozen=True)
class GroupRule:
    """A rule over every line of a group (a manual journal entry): when ``having`` holds for the lines grouped
    by ``by``, every line of the group (``Feed.group_key``) is refused with ``message`` (SQL over the group)."""

    column: str
    by: tuple[str, ...]
    having: str
    message: str
    description: str
    rule: str = "invalid_row"


@dataclass(frozen=True)
class CumulativeLimit:
    """Rows that name the same row of the feed (``by``: a refund naming the payment it reverses) add up
    ``column``, in file order, after the accepted rows of earlier files; a row (that ``applies``: SQL over the
    row ``t``) taking the running total past the named row's ``limit`` (SQL over that row, ``o``) is refused
    with ``rule``, the amounts in its message. Rows refused for another reason do not count."""

    column: str
    by: str
    applies: str
    limit: str
    description: str
    rule: str = "exceeds_original_payment"


@dataclass(frozen=True)
class Feed:
    name: str
    kind: str  # "reference" (upserts, versioned by recorded date) or "transactional" (events)
    key: tuple[str, ...]
    description: str
    columns: tuple[Column, ...]
    row_rules: tuple[RowRule, ...] = field(default_factory=tuple)
    lookups: tuple[str, ...] = ()  # other feeds the row rules read (as ref_<feed>)
    seed_lookups: tuple[str, ...] = ()  # dbt seeds the row rules read (as ref_<seed>; see ingest)
    group_key: tuple[str, ...] = ()  # lines accepted or refused together (an entry); empty = each line alone
    group_rules: tuple[GroupRule, ...] = field(default_factory=tuple)
    limits: tuple[CumulativeLimit, ...] = field(default_factory=tuple)
    # The event's own date (a column, or the business date staging derives from a timestamp): the known date of
    # a row of the migration load, which the legacy system knew on that date (staging's known_date column).
    known_on: str = ""

    @property
    def is_event(self) -> bool:
        return self.kind == "transactional"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def upstream_feeds(self) -> list[str]:
        """Other feeds this feed references: they are ingested first on the same night."""
        feeds = {c.references.split(".")[0] for c in self.columns if c.references} | set(self.lookups)
        feeds.discard(self.name)
        return sorted(feeds)


def _c(name: str, type_: str, description: str, **kw) -> Column:
    return Column(name, type_, description, **kw)


def _opt(name: str, type_: str, description: str, **kw) -> Column:
    return Column(name, type_, description, required=False, **kw)


ZERO = Decimal("0")
ONE = Decimal("1")
CENT = Decimal("0.01")

_ADDRESS = (
    _c("address_line1", "text", "First address line."),
    _opt("address_line2", "text", "Second address line."),
    _c("city", "text", "City or town."),
    _opt("region", "text", "State, province or county."),
    _c("postal_code", "text", "Postal code, kept as text (leading zeros matter)."),
    _c("country", "country", "ISO 3166-1 alpha-2 country code."),
)

FEEDS: tuple[Feed, ...] = (
    Feed(
        "products", "reference", ("product_id",),
        "Things the publisher delivers: publications, continuity series, memberships, goods.",
        (
            _c("product_id", "text", "Product identifier."),
            _c("product_name", "text", "Name shown on invoices and notices."),
            _c("kind", "text", "What the product is.", allowed=(
                "print_publication", "digital_publication", "continuity_series",
                "membership", "physical_good")),
            _c("revenue_method", "text", "How its revenue is earned.", allowed=(
                "ratable_daily", "per_issue", "per_shipment", "point_in_time")),
            _c("fulfillment_channel", "text", "How it reaches the customer.",
               allowed=("ship", "digital_access", "none")),
            _opt("sku", "text", "Stock-keeping unit, where stock is kept."),
            _opt("reorder_point", "integer", "On-hand quantity below which a reorder alert is raised.",
                 minimum=ZERO),
            _opt("shipment_interval_months", "integer",
                 "Months between two volumes of a continuity series.", minimum=ONE),
            _opt("issues_per_year", "integer", "Issues a year for a publication.", minimum=ONE),
        ),
    ),
    Feed(
        "product_ssp", "reference", ("product_id", "currency"),
        "Standalone selling price of a product per currency: the basis of bundle allocation.",
        (
            _c("product_id", "text", "Product.", references="products.product_id"),
            _c("currency", "currency", "Currency of the price."),
            _c("standalone_selling_price", "money", "Price of the product sold on its own.",
               minimum=ZERO),
        ),
    ),
    Feed(
        "credit_policies", "reference", ("credit_policy_id",),
        "What a cancellation refunds: everything within full_refund_days of the order, the "
        "unserved value until no_refund_after_days (999 = always), nothing after.",
        (
            _c("credit_policy_id", "text", "Credit policy identifier."),
            _c("full_refund_days", "integer", "Days after the order within which everything paid is refunded.",
               minimum=ZERO),
            _c("no_refund_after_days", "integer", "Days after the order after which nothing is refunded.",
               minimum=ZERO),
            _c("cancellation_fee_type", "text", "Kind of cancellation fee.",
               allowed=("none", "flat", "percent")),
            _opt("cancellation_fee", "decimal",
                 "Flat fee in the invoice currency, or a percentage (10 = 10 %).", minimum=ZERO),
        ),
        row_rules=(
            RowRule("no_refund_after_days", "t.no_refund_after_days < t.full_refund_days",
                    "no_refund_after_days must not be less than full_refund_days"),
            RowRule("cancellation_fee",
                    "t.cancellation_fee_type <> 'none' and t.cancellation_fee is null",
                    "a flat or percent fee needs cancellation_fee"),
        ),
    ),
    Feed(
        "offers", "reference", ("offer_id",),
        "The rate card: what is sold, for how long, at what price, to whom, and what it renews into.",
        (
            _c("offer_id", "text", "Offer identifier."),
            _c("offer_name", "text", "Name shown to customers."),
            _c("term_length", "integer", "Length of one term, in term_unit.", minimum=ONE),
            _c("term_unit", "text", "Unit of the term.", allowed=("months", "issues", "shipments")),
            _c("price", "money", "Price of one term, before discount and tax.", minimum=ZERO),
            _c("currency", "currency", "Currency of the price."),
            _opt("countries", "text", "Countries where the offer is sold, ';'-separated; empty = all."),
            _opt("segment", "text", "Customer segment the offer is for; empty = any.",
                 allowed=("general", "student", "institution")),
            _opt("tier", "text", "Membership tier.", allowed=("gold", "silver", "bronze")),
            _c("autorenew_allowed", "boolean", "Whether the offer may be sold on autorenew."),
            _c("credit_policy_id", "text", "Credit policy applied on cancellation.",
               references="credit_policies.credit_policy_id"),
            _opt("renewal_offer_id", "text",
                 "Offer a term of this offer renews into (may be itself): the autorenew chain.",
                 references="offers.offer_id"),
            _c("available_from", "date", "First day the offer may be sold."),
            _opt("available_to", "date", "Day the offer stops being sold (exclusive); empty = open."),
        ),
        row_rules=(
            RowRule("available_to", "t.available_to <= t.available_from",
                    "available_to must be after available_from"),
        ),
    ),
    Feed(
        "offer_components", "reference", ("offer_id", "component_seq"),
        "Products delivered by an offer; a bundle has several components, allocated by SSP in this order.",
        (
            _c("offer_id", "text", "Offer.", references="offers.offer_id"),
            _c("component_seq", "integer", "Position of the component in the offer.", minimum=ONE),
            _c("product_id", "text", "Product delivered.", references="products.product_id"),
            _c("quantity", "integer", "Copies of the product per term unit.", minimum=ONE),
        ),
    ),
    Feed(
        "issue_schedules", "reference", ("issue_id",),
        "The issues of each publication and when they ship.",
        (
            _c("issue_id", "text", "Issue identifier."),
            _c("product_id", "text", "Publication.", references="products.product_id"),
            _c("cover_date", "date", "Date printed on the cover."),
            _opt("list_close_date", "date", "When labels go to the printer; the ship date if empty."),
            _c("ship_date", "date", "Date the issue ships."),
        ),
        row_rules=(
            RowRule("list_close_date", "t.list_close_date > t.ship_date",
                    "list_close_date must not be after ship_date"),
        ),
    ),
    Feed(
        "shippers", "reference", ("shipper_id",),
        "Printers and mailing houses that receive manifests.",
        (
            _c("shipper_id", "text", "Shipper identifier."),
            _c("shipper_name", "text", "Name."),
            _c("role", "text", "What the shipper does.", allowed=("printer", "mailing_house", "fulfillment_house")),
            _c("spoilage_percent", "decimal", "Spoilage allowance added to the draw (2.5 = 2.5 %).",
               minimum=ZERO),
        ),
    ),
    Feed(
        "shipper_routing", "reference", ("routing_id",),
        "Which shipper serves an address: country and postal prefix, then country, then the default "
        "(both empty).",
        (
            _c("routing_id", "text", "Routing rule identifier."),
            _opt("country", "country", "Country; empty for the default rule."),
            _opt("postal_prefix", "text", "Postal code prefix; empty = the whole country."),
            _c("shipper_id", "text", "Shipper.", references="shippers.shipper_id"),
        ),
        row_rules=(
            RowRule("postal_prefix", "t.postal_prefix is not null and t.country is null",
                    "a postal prefix needs a country"),
        ),
    ),
    Feed(
        "fx_rates", "reference", ("currency", "rate_date"),
        "Exchange rates: functional-currency units per one unit of currency, on rate_date.",
        (
            _c("currency", "currency", "Transaction currency."),
            _c("rate_date", "date", "Date of the rate.", event_time=True),
            _c("rate", "decimal", "Functional units per one unit of currency.", minimum=Decimal("0.00000001")),
        ),
    ),
    Feed(
        "customers", "reference", ("customer_id",),
        "Customers (subscribers, gift givers, members). A new row for a known id is a new version.",
        (
            _c("customer_id", "text", "Customer identifier."),
            _c("first_name", "text", "Given name."),
            _c("last_name", "text", "Family name."),
            _opt("organisation", "text", "Organisation, for institutions."),
            *_ADDRESS,
            _opt("email", "text", "E-mail address."),
            _c("segment", "text", "Customer segment.", allowed=("general", "student", "institution")),
            _c("email_opt_in", "boolean", "Accepts marketing e-mail."),
            _c("mail_opt_in", "boolean", "Accepts marketing mail."),
            _c("do_not_contact", "boolean", "No messages at all."),
            _c("deceased", "boolean", "Deceased: no messages, no copies."),
            _c("undeliverable", "boolean", "Postal address returns mail: no copies."),
        ),
    ),
    Feed(
        "inventory_receipts", "transactional", ("receipt_id",),
        "Stock received into the warehouse, per SKU.",
        (
            _c("receipt_id", "text", "Receipt identifier."),
            _c("sku", "text", "Stock-keeping unit."),
            _c("received_date", "date", "Date the stock arrived.", event_time=True),
            _c("quantity", "integer", "Units received.", minimum=ONE),
        ),
    ),
    Feed(
        "orders", "transactional", ("order_id",),
        "Orders: new subscriptions, gifts, renewals, upgrades and reactivations.",
        (
            _c("order_id", "text", "Order identifier."),
            _c("customer_id", "text", "Customer who orders and pays.", references="customers.customer_id"),
            _c("subscription_id", "text",
               "Subscription the order starts (new, gift) or extends (renewal, upgrade, reactivation)."),
            _c("ordered_at", "timestamp", "When the order was placed.", event_time=True),
            _c("order_type", "text", "Kind of order.",
               allowed=("new", "renewal", "gift", "upgrade", "reactivation")),
            _c("offer_id", "text", "Offer ordered.", references="offers.offer_id"),
            _c("quantity", "integer", "Terms (or copies) ordered.", minimum=ONE),
            _c("unit_price", "money", "Price charged per unit.", minimum=ZERO),
            _c("discount", "money", "Discount on the order.", minimum=ZERO),
            _c("tax_rate", "decimal", "Tax rate (0.0725 = 7.25 %).", minimum=ZERO),
            _c("tax_amount", "money", "Tax = (quantity × unit_price − discount) × tax_rate, half away from zero.",
               minimum=ZERO),
            _c("currency", "currency", "Currency of the order; the offer's currency."),
            _c("service_start", "date", "First day of service."),
            _c("autorenew", "boolean", "Renews automatically."),
            _opt("payment_method_token", "text", "Stored payment method for autocharge."),
            _c("payment_terms", "text", "prepaid, or the invoice's net days.",
               allowed=("prepaid", "net_15", "net_30", "net_60")),
            _opt("ship_to_name", "text", "Recipient's name (gifts)."),
            _opt("ship_to_address_line1", "text", "Recipient's address."),
            _opt("ship_to_address_line2", "text", "Recipient's address, second line."),
            _opt("ship_to_city", "text", "Recipient's city."),
            _opt("ship_to_region", "text", "Recipient's region."),
            _opt("ship_to_postal_code", "text", "Recipient's postal code."),
            _opt("ship_to_country", "country", "Recipient's country."),
            _opt("promotion_code", "text", "Promotion (source) code: campaign and channel."),
        ),
        row_rules=(
            RowRule("offer_id",
                    "not exists (select 1 from ref_offer_components c where c.offer_id = t.offer_id)",
                    "the offer has no components: nothing to deliver or invoice"),
            RowRule("currency",
                    "not exists (select 1 from ref_offers o where o.offer_id = t.offer_id "
                    "and o.currency = t.currency)",
                    "the order's currency must be its offer's currency"),
            RowRule("discount", "t.discount > t.quantity * t.unit_price",
                    "the discount must not exceed quantity × unit_price"),
            RowRule("tax_amount",
                    "t.tax_amount <> round((t.quantity * t.unit_price - t.discount) * t.tax_rate, 2)",
                    "tax_amount must be (quantity × unit_price − discount) × tax_rate, rounded half away from zero"),
            RowRule("subscription_id",
                    "t.order_type in ('renewal', 'upgrade', 'reactivation') and not exists "
                    "(select 1 from ref_subscriptions s where s.subscription_id = t.subscription_id)",
                    "a renewal, upgrade or reactivation must name a known subscription",
                    rule="unknown_reference"),
            RowRule("subscription_id",
                    "t.order_type in ('new', 'gift') and (exists "
                    "(select 1 from prior_subscriptions s where s.subscription_id = t.subscription_id) "
                    "or exists (select 1 from cur c where c.subscription_id = t.subscription_id "
                    "and c.order_type in ('new', 'gift') and c._record < t._record))",
                    "a new or gift order must start a new subscription", rule="duplicate_id"),
        ),
        lookups=("offers", "offer_components"),
    ),
    Feed(
        "payments", "transactional", ("payment_id",),
        "Money in and out: settled and failed payments, refunds and chargebacks (which name the "
        "payment they reverse).",
        (
            _c("payment_id", "text", "Payment identifier."),
            _c("customer_id", "text", "Customer.", references="customers.customer_id"),
            _opt("invoice_id", "text", "Invoice paid, when the payer names it."),
            _opt("order_id", "text", "Order paid, when the payer names it.", references="orders.order_id"),
            _c("paid_at", "timestamp", "When the payment happened.", event_time=True),
            _c("amount", "money", "Amount, positive whatever the status.", minimum=CENT),
            _c("currency", "currency", "Currency."),
            _c("method", "text", "Payment method.", allowed=("card", "ach", "check", "bank_transfer", "paypal")),
            _c("status", "text", "Outcome.", allowed=("settled", "failed", "refunded", "chargeback")),
            _opt("original_payment_id", "text", "For refunds and chargebacks: the payment reversed.",
                 references="payments.payment_id"),
            _opt("processor_reference", "text", "Payment processor's reference."),
            _opt("autocharge_request_key", "text", "Key of the autocharge request this answers."),
        ),
        known_on="paid_date",
        row_rules=(
            RowRule("original_payment_id",
                    "t.status in ('refunded', 'chargeback') and t.original_payment_id is null",
                    "a refund or chargeback must name original_payment_id"),
            RowRule("original_payment_id",
                    "t.status in ('refunded', 'chargeback') and exists (select 1 from ref_payments o "
                    "where o.payment_id = t.original_payment_id and (o.status <> 'settled' or o.currency <> t.currency "
                    "or o.customer_id <> t.customer_id))",
                    "a refund or chargeback reverses a settled payment of the same customer, in its currency"),
        ),
        limits=(
            CumulativeLimit("amount", "original_payment_id", "t.status in ('refunded', 'chargeback')", "o.amount",
                            "refunds and chargebacks of a payment add up to at most its amount"),
        ),
    ),
    Feed(
        "cancellations", "transactional", ("cancellation_id",),
        "Requests to stop a subscription.",
        (
            _c("cancellation_id", "text", "Cancellation identifier."),
            _c("subscription_id", "text", "Subscription cancelled.", references="orders.subscription_id"),
            _c("requested_at", "timestamp", "When the request was made.", event_time=True),
            _c("effective_date", "date", "Date service stops (exclusive end of service)."),
            _c("reason", "text", "Why.", allowed=("price", "content", "nonpayment", "moved", "deceased", "other")),
        ),
        known_on="requested_date",
    ),
    Feed(
        "suspensions", "transactional", ("suspension_id",),
        "Vacation holds: physical deliveries paused over [hold_from, hold_to).",
        (
            _c("suspension_id", "text", "Suspension identifier."),
            _c("subscription_id", "text", "Subscription held.", references="orders.subscription_id"),
            _c("hold_from", "date", "First day of the hold."),
            _c("hold_to", "date", "Day deliveries resume (exclusive)."),
        ),
        known_on="hold_from",
        row_rules=(
            RowRule("hold_to", "t.hold_to <= t.hold_from", "hold_to must be after hold_from"),
        ),
    ),
    Feed(
        "interactions", "transactional", ("interaction_id",),
        "Customer-service contacts, for the customer timeline.",
        (
            _c("interaction_id", "text", "Interaction identifier."),
            _c("customer_id", "text", "Customer.", references="customers.customer_id"),
            _opt("subscription_id", "text", "Subscription concerned.", references="orders.subscription_id"),
            _c("occurred_at", "timestamp", "When it happened.", event_time=True),
            _c("channel", "text", "Channel.", allowed=("phone", "email", "chat", "letter")),
            _c("topic", "text", "Topic.", allowed=(
                "billing", "delivery", "renewal", "cancellation", "address_change", "complaint", "other")),
            _opt("note", "text", "Agent's note."),
        ),
    ),
    Feed(
        "service_actions", "transactional", ("service_action_id",),
        "Customer-service actions that cost the customer nothing: a complimentary extension (free issues of a "
        "print term, or free days of access), a reship of an issue, a goodwill credit put on the customer's "
        "credit.",
        (
            _c("service_action_id", "text", "Service action identifier; complimentary and reshipped copies are "
               "keyed by it on the manifests."),
            _c("customer_id", "text", "Customer the action is for.", references="customers.customer_id"),
            _opt("subscription_id", "text", "Subscription concerned (required for extensions and reships).",
                 references="orders.subscription_id"),
            _c("action_type", "text", "What was done.",
               allowed=("complimentary_extension", "reship", "goodwill_credit")),
            _c("action_at", "timestamp", "When the agent took the action.", event_time=True),
            _opt("issues", "integer", "complimentary_extension of an issue term: free issues given.", minimum=ONE),
            _opt("days", "integer", "complimentary_extension of a term counted in months: free days of access.",
                 minimum=ONE),
            _opt("issue_id", "text", "reship: the issue to send again.", references="issue_schedules.issue_id"),
            _opt("amount", "money", "goodwill_credit: the amount put on the customer's credit.", minimum=CENT),
            _opt("currency", "currency", "goodwill_credit: currency of the amount."),
            _c("reason", "text", "Why.", allowed=(
                "missing_copy", "damaged_copy", "late_delivery", "service_failure", "billing_error", "retention",
                "other")),
            _opt("note", "text", "Agent's note."),
        ),
        known_on="action_date",
        row_rules=(
            RowRule("subscription_id",
                    "t.action_type in ('complimentary_extension', 'reship') and t.subscription_id is null",
                    "an extension or a reship names its subscription"),
            RowRule("subscription_id",
                    "t.subscription_id is not null and not exists (select 1 from ref_orders o "
                    "where o.subscription_id = t.subscription_id and o.customer_id = t.customer_id)",
                    "the subscription must be one the customer ordered"),
            RowRule("issues",
                    "t.action_type = 'complimentary_extension' and ((t.issues is null) = (t.days is null))",
                    "a complimentary extension gives issues or days (exactly one of them)"),
            RowRule("issue_id", "t.action_type = 'reship' and t.issue_id is null", "a reship names the issue"),
            RowRule("amount",
                    "t.action_type = 'goodwill_credit' and (t.amount is null or t.currency is null)",
                    "a goodwill credit has an amount and a currency"),
            RowRule("action_type",
                    "(t.action_type <> 'complimentary_extension' and (t.issues is not null or t.days is not null)) "
                    "or (t.action_type <> 'reship' and t.issue_id is not null) "
                    "or (t.action_type <> 'goodwill_credit' and (t.amount is not null or t.currency is not null))",
                    "only the action type's own columns are filled (issues/days, issue_id, amount/currency)"),
        ),
    ),
    Feed(
        "manual_journals", "transactional", ("entry_id", "line_number"),
        "Journal entries from finance (accruals, reclassifications), one row per line. An entry is posted "
        "whole or not at all: when one line is refused, or the entry does not balance in one of its "
        "currencies, every line of the entry is quarantined. Accounts kept by the pipeline's sub-ledgers "
        "(receivables, customer credits, cash clearing, deferred revenue, revenue, tax and refunds payable) "
        "are closed to manual entries.",
        (
            _c("entry_id", "text", "Entry identifier, unique across files: an entry is sent whole in one file."),
            _c("line_number", "integer", "Line within the entry.", minimum=ONE),
            _c("entry_date", "date", "Date the entry posts on (its period); not after the recorded date.",
               event_time=True),
            _c("account_code", "text", "GL account code (the chart of accounts, with the deployment's "
               "[ledger] account_codes overrides)."),
            _opt("debit", "money", "Debit amount (a line has a debit or a credit).", minimum=ZERO),
            _opt("credit", "money", "Credit amount.", minimum=ZERO),
            _c("currency", "currency", "Currency of the line; converted to the functional currency at the "
               "entry date's rate."),
            _c("memo", "text", "What the entry is for."),
        ),
        known_on="entry_date",
        row_rules=(
            RowRule("entry_id", "exists (select 1 from prior p where p.entry_id = t.entry_id)",
                    "this entry id was posted by an earlier file: corrections are new entries",
                    rule="duplicate_id"),
            RowRule("account_code",
                    "not exists (select 1 from ref_chart_of_accounts a where a.account_code = t.account_code)",
                    "no account with this code in the chart of accounts", rule="unknown_reference"),
            RowRule("account_code",
                    "exists (select 1 from ref_chart_of_accounts a where a.account_code = t.account_code "
                    "and a.is_closed_to_manual)",
                    "the account is kept by a sub-ledger of the pipeline (receivables, customer credits, cash "
                    "clearing, deferred revenue, revenue, tax or refunds payable) and takes no manual entry",
                    rule="not_allowed"),
            RowRule("debit", "(coalesce(t.debit, 0) > 0) = (coalesce(t.credit, 0) > 0)",
                    "a line carries a debit or a credit above zero, not both"),
        ),
        seed_lookups=("chart_of_accounts",),
        group_key=("entry_id",),
        group_rules=(
            GroupRule("entry_date", ("entry_id",), "count(distinct entry_date) > 1",
                      "'entry ' || entry_id || ' has lines on different dates; the whole entry is refused'",
                      "every line of an entry has the same entry_date"),
            GroupRule("debit", ("entry_id", "currency"),
                      "sum(coalesce(debit, 0)) <> sum(coalesce(credit, 0))",
                      "'entry ' || entry_id || ' does not balance in ' || currency || ': debits ' || "
                      "cast(sum(coalesce(debit, 0)) as decimal(18, 2)) || ', credits ' || "
                      "cast(sum(coalesce(credit, 0)) as decimal(18, 2)) || '; the whole entry is refused'",
                      "the debits and credits of an entry are equal in each of its currencies",
                      rule="unbalanced_entry"),
        ),
    ),
)

#: Accounts a manual journal may not post to: their balances are kept, and tied out, by the pipeline's
#: sub-ledgers (invoices and cash application, the revenue schedule, tax and refunds).
CLOSED_TO_MANUAL_ENTRIES: tuple[str, ...] = (
    "accounts_receivable", "customer_credits", "cash_clearing", "deferred_revenue", "revenue",
    "cancellation_fee_revenue", "tax_payable", "refunds_payable",
)

#: The migration load's control totals (docs/computations.md, "Migration and cut-over"): an optional file
#: delivered with the migration load, ``landing/migration_control/<cut-over date>.csv``. Not a nightly feed:
#: it is read only on the cut-over night, by the ingestion of the feeds it controls
#: (``lifecycle.io.migration_control``).
MIGRATION_CONTROL = Feed(
    "migration_control", "control", ("feed", "currency"),
    "Control totals of the migration load, per controlled feed and currency, as the legacy system counted its "
    "records: after the migration files are ingested, the accepted rows and amounts must equal them, else the "
    "feed concerned ingests nothing (the publisher corrects and delivers again before the cut-over night is "
    "published).",
    (
        _c("feed", "text", "What is counted (see CONTROLLED_SLICES).", allowed=("orders", "payments", "refunds")),
        _c("currency", "currency", "Currency of the rows counted."),
        _c("rows", "integer", "Number of records.", minimum=ZERO),
        _c("amount", "money", "Sum of their amounts.", minimum=ZERO),
    ),
)

#: What each control-total line counts: (landing feed, SQL amount of a row, SQL filter on its rows).
CONTROLLED_SLICES: dict[str, tuple[str, str, str]] = {
    "orders": ("orders", "quantity * unit_price - discount + tax_amount", "true"),
    "payments": ("payments", "amount", "status <> 'refunded'"),
    "refunds": ("payments", "amount", "status = 'refunded'"),
}
CONTROLLED_SLICE_NOTES: dict[str, str] = {
    "orders": "every order; amount = quantity × unit_price − discount + tax_amount (the invoice total)",
    "payments": "every payment that is not a refund (settled, failed and chargeback rows); amount as delivered",
    "refunds": "every payment with status refunded; amount as delivered",
}

FEEDS_BY_NAME: dict[str, Feed] = {f.name: f for f in FEEDS}


def feed(name: str) -> Feed:
    try:
        return FEEDS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown feed {name!r}; feeds are {', '.join(FEEDS_BY_NAME)}") from None


def ingestion_order() -> list[str]:
    """Feeds in an order where every referenced feed comes before the feeds naming it."""
    done: list[str] = []
    pending = [f.name for f in FEEDS]
    while pending:
        for name in pending:
            if all(up in done for up in feed(name).upstream_feeds):
                done.append(name)
                pending.remove(name)
                break
        else:  # pragma: no cover - the contract is acyclic, a test proves it
            raise ValueError(f"reference cycle among {pending}")
    return done
