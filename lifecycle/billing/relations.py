"""The glue between the warehouse and the billing engine: read relations, run, yield Arrow tables.

The engine assets (lifecycle/assets/billing.py) hand these functions relations of tonight's build
(DuckDB relations: anything with ``.query(name, sql)``) and the knobs of ``Settings.engine_knobs``; the
engines walk their work in batches, and the Arrow tables they yield batch by batch are written as one Parquet
file (``write_engine_parts``), which dbt reads as ``source('engine', ...)``.
Amounts cross the boundary as integer cents (``to_cents`` in SQL, never DOUBLE) and come back as
integer cents; the SQL models downstream turn them into DECIMAL(18,2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from lifecycle.billing import carry, cash, terms


def _rows(relation, sql: str) -> list[tuple]:
    return relation.query("t", sql).fetchall()


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _ints(value) -> tuple[int, ...]:
    """A list knob: a list, or its JSON rendering."""
    if isinstance(value, str):
        value = json.loads(value)
    return tuple(int(x) for x in value)


def key_ranges(keys, column: str, size: int) -> list[tuple[str, str | None]]:
    """Batches of ``size`` distinct values of ``column`` (of the relation ``keys``), in order: each batch's first
    value and the next batch's (none for the last). An engine that groups its work by that column walks one batch
    at a time, in the order it would walk everything at once."""
    if size < 1:
        raise ValueError(f"a batch holds at least one key, not {size}")
    firsts = [r[0] for r in keys.query("t", f"""
        select {column} from (select distinct {column} from t where {column} is not null)
        qualify (row_number() over (order by {column}) - 1) % {int(size)} = 0 order by {column}""").fetchall()]
    return list(zip(firsts, [*firsts[1:], None], strict=True))


def _typed(kind: str, table: pa.Table) -> pa.Table:
    return table.append_column("record_type", pa.array([kind] * table.num_rows, pa.string()))


def _chain_parts(chains: terms.Chains) -> dict[str, pa.Table]:
    return {
        "term": _typed("term", _terms_table(chains.terms)),
        "request": _typed("request", _requests_table(chains.requests)),
        "notice": _typed("notice", _notices_table(chains.notices)),
        "issue": _typed("issue", _issues_table(chains.terms)),
        "window": _typed("window", _windows_table(chains.terms)),
    }


def billing_chains(
    knobs: dict, orders, offers, components, products, issues, payments, cancellations, holds=None, batch=25_000,
    state: Path | None = None, reuse: bool = True,
) -> Iterator[dict[str, pa.Table]]:
    """Terms, autocharge requests, upcoming-charge notices, the terms' entitled issues and the ends a hold
    moved, ``batch`` subscriptions at a time (in subscription order): one table per record type (``CHAIN_PARTS``,
    each with its ``record_type``) per batch. A chain depends on nothing outside its subscription but the
    catalogue, read once, and the answers to its requests (the first answer to a key, over every customer).

    With ``state`` (a folder of lifecycle.billing.carry), tonight is kept there for the next night, and (unless
    ``reuse`` is false: a full refresh) a subscription whose inputs are those of the latest night kept (its
    orders, cancellations and holds, its customers' answers, the offers and issue schedules it can reach) and
    whose walk waits for no date by tonight gets that night's records instead of a walk."""
    cat = _catalogue(offers, components, products, issues)
    answers = first_answers(payments)
    chain_knobs = _chain_knobs(knobs)
    answers.register("subscription_customers", orders.query(
        "t", "select distinct subscription_id, customer_id from t").to_arrow_table())
    fingerprints = [
        orders.query("t", carry.fingerprint_sql("subscription_id", _ORDER_COLUMNS)).to_arrow_table(),
        cancellations.query("t", carry.fingerprint_sql("subscription_id", _CHAIN_CANCELLATION_COLUMNS)).to_arrow_table(),
        answers.sql(f"""
            with mine as (select customer_id, count(*) as n, (sum(hash(answers)) % {carry.MODULO})::ubigint as h
                          from answers group by customer_id)
            select s.subscription_id as key, count(*) as n, (sum(hash(mine.customer_id, mine.n, mine.h))
                   % {carry.MODULO})::ubigint as h
            from subscription_customers s join mine using (customer_id) group by s.subscription_id""").to_arrow_table(),
    ]
    if holds is not None:
        fingerprints.append(holds.query("t", carry.fingerprint_sql("subscription_id", _HOLD_COLUMNS)).to_arrow_table())
    fingerprints.append(_catalogue_fingerprints(cat, orders, answers))
    night = carry.Night(
        state, chain_knobs.business_date,
        carry.version({"knobs": {k: str(v) for k, v in chain_knobs.__dict__.items() if k != "business_date"}},
                      Path(terms.__file__), Path(__file__), Path(carry.__file__)),
        reuse, fingerprints, ("subscription_id",), CHAIN_KEPT_SCHEMA)
    try:
        for bounds in key_ranges(night.keys(), "key", batch):
            chains = walk_chains(knobs, orders, cat, answers, cancellations, holds,
                                 night.to_walk("subscription_id", bounds))
            night.walked(chains.next_events.items())
            parts = _chain_parts(chains)
            yield {name: night.merge(number, bounds, _positioned(parts[name], CHAIN_SCHEMA))
                   for number, name in enumerate(CHAIN_PARTS)}
    except BaseException:
        night.abandon()
        raise
    finally:
        answers.close()
    night.close()


def _catalogue_fingerprints(cat: terms.Catalogue, orders, con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Per subscription, what its walk can read of the catalogue: the offers its orders name and every offer they
    renew into (``Catalogue.reach``), each with its digest. A new or changed offer, or a new issue of a schedule,
    walks again the chains that can reach it, not every chain."""
    subscription_offers = orders.query(
        "t", "select distinct subscription_id, offer_id from t where subscription_id is not null").to_arrow_table()
    ordered = sorted({o for o in subscription_offers["offer_id"].to_pylist() if o is not None})
    pairs = [(offer_id, reached) for offer_id in ordered for reached in sorted(cat.reach(offer_id))]
    digests = {reached: cat.offer_digest(reached) for reached in {r for _, r in pairs}}
    con.register("offer_reach", pa.table({
        "offer_id": pa.array([o for o, _ in pairs], pa.string()),
        "reached": pa.array([r for _, r in pairs], pa.string()),
        "digest": pa.array([digests[r] for _, r in pairs], pa.uint64())}))
    con.register("subscription_offers", subscription_offers)
    try:
        return con.sql(f"""
            with reached as (select distinct s.subscription_id, r.reached, r.digest
                             from subscription_offers s join offer_reach r using (offer_id))
            select subscription_id as key, count(*) as n,
                   (sum(hash(reached, digest)) % {carry.MODULO})::ubigint as h
            from reached group by subscription_id""").to_arrow_table()
    finally:
        con.unregister("offer_reach")
        con.unregister("subscription_offers")


def _positioned(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns (null where it lacks one) and its rows' ``position``."""
    return pa.table([table[f.name] if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
                     for f in schema] + [pa.array(range(table.num_rows), pa.int64())],
                    names=[*schema.names, "position"])


def _catalogue(offers, components, products, issues) -> terms.Catalogue:
    """Offer versions with their structure as of tonight: which publication an issue term counts,
    and the months per volume of a continuity series."""
    product_info = {
        r[0]: (r[1] is not None, r[2], r[3] == "ship")
        for r in _rows(products, "select product_id, issues_per_year, shipment_interval_months, "
                                 "fulfillment_channel from t where is_current")
    }
    structure: dict[str, tuple[str | None, int]] = {}
    for offer_id, product_id in _rows(
        components, "select offer_id, product_id from t where is_current order by offer_id, component_seq"
    ):
        has_issues, interval, ships = product_info.get(product_id, (False, None, False))
        schedule, months = structure.get(offer_id, (None, 1))
        # the first component with issues, a shipped one before a digital edition (a print + digital bundle's
        # issues are the print copies its manifests carry)
        if has_issues and (schedule is None or (ships and not product_info[schedule][2])):
            schedule = product_id
        structure[offer_id] = (schedule, max(months, interval or 1))
    return terms.Catalogue(
        versions=[
            terms.OfferVersion(
                offer_id=r[0],
                valid_from=r[1],
                valid_to=r[2],
                term_unit=r[3],
                term_length=r[4],
                price_cents=r[5],
                renewal_offer_id=r[6],
                schedule_product_id=structure.get(r[0], (None, 1))[0],
                shipment_interval_months=int(structure.get(r[0], (None, 1))[1]),
            )
            for r in _rows(
                offers,
                "select offer_id, valid_from, valid_to, term_unit, term_length, "
                "cast(round(price * 100) as bigint), nullif(renewal_offer_id, '') from t",
            )
        ],
        issues=_rows(issues, "select product_id, issue_id, ship_date from t where is_current"),
    )


#: what the chain walk reads of its inputs: the fingerprints are of exactly these columns
_ORDER_COLUMNS = ("order_id, customer_id, subscription_id, order_type, offer_id, ordered_at, ordered_date, "
                  "recorded_date, service_start, quantity, cast(tax_rate as varchar), currency, autorenew, "
                  "nullif(payment_method_token, '')")
_CHAIN_CANCELLATION_COLUMNS = "subscription_id, requested_date, known_date"
_HOLD_COLUMNS = "subscription_id, hold_from, hold_to, known_date"


def _chain_knobs(knobs: dict) -> terms.Knobs:
    return terms.Knobs(
        business_date=date.fromisoformat(knobs["business_date"]),
        cutover_date=_date(knobs.get("cutover_date", "")),
        autocharge_lead_days=int(knobs["autocharge_lead_days"]),
        autocharge_retry_offsets=_ints(knobs["autocharge_retry_offsets"]),
        business_timezone=knobs.get("business_timezone") or "UTC",
        upcoming_autocharge_days=int(knobs.get("upcoming_autocharge_days", 7)),
        renewal_grace_issues=int(knobs.get("renewal_grace_issues") or 0),
    )


def first_answers(payments) -> duckdb.DuckDBPyConnection:
    """The first answer to each autocharge key (a replayed key: the first counts), over every customer: the table
    ``answers`` of an in-memory database of their own (its session in UTC, as the build's), which ``walk_chains``
    reads a batch's customers' answers from."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.register("first_answers", payments.query("t", """
        select payment_id, customer_id, paid_at, paid_date, recorded_date, status, autocharge_request_key, known_date
        from t where autocharge_request_key is not null and status in ('settled', 'failed')
        qualify row_number() over (partition by autocharge_request_key order by paid_at, payment_id) = 1
        """).to_arrow_table())
    con.execute("create table answers as select * from first_answers order by customer_id")
    con.unregister("first_answers")
    return con


def walk_chains(
    knobs: dict, orders, catalogue: terms.Catalogue, answers: duckdb.DuckDBPyConnection, cancellations, holds=None,
    where: str = "true",
) -> terms.Chains:
    """Read the relations and walk the chains of the subscriptions ``where`` selects as of the business date
    (``answers``: ``first_answers``)."""
    batch_orders = [
        terms.Order(*r[:10], tax_rate=Decimal(r[10]), currency=r[11], autorenew=r[12], payment_method_token=r[13])
        for r in _rows(orders, f"select {_ORDER_COLUMNS} from t where {where}")
    ]
    # a key is only honoured from the customer it was sent for: the batch's customers' answers are all it can use
    customers = pa.table({"customer_id": pa.array(sorted({o.customer_id for o in batch_orders}), pa.string())})
    answers.register("batch_customers", customers)
    try:
        mine = answers.execute("select * from answers semi join batch_customers using (customer_id)").fetchall()
    finally:
        answers.unregister("batch_customers")
    return terms.build_chains(
        orders=batch_orders,
        answers=[terms.Answer(*r) for r in mine],
        # known_date: a migrated cancellation was known to the legacy system when requested
        cancellations=[terms.Cancellation(*r) for r in _rows(
            cancellations, f"select {_CHAIN_CANCELLATION_COLUMNS} from t where {where}")],
        catalogue=catalogue,
        knobs=_chain_knobs(knobs),
        # known_date: a migrated hold was known to the legacy system from its first day
        holds=[terms.Hold(*r) for r in (
            _rows(holds, f"select {_HOLD_COLUMNS} from t where {where}") if holds is not None else [])],
    )


def _terms_table(rows: list[terms.Term]) -> pa.Table:
    return pa.table(
        {
            "subscription_id": pa.array([t.subscription_id for t in rows], pa.string()),
            "term_number": pa.array([t.term_number for t in rows], pa.int32()),
            "order_id": pa.array([t.order_id for t in rows], pa.string()),
            "term_source": pa.array([t.source for t in rows], pa.string()),
            "source_order_id": pa.array([t.source_order_id for t in rows], pa.string()),
            "customer_id": pa.array([t.customer_id for t in rows], pa.string()),
            "order_type": pa.array([t.order_type for t in rows], pa.string()),
            "offer_id": pa.array([t.offer_id for t in rows], pa.string()),
            "term_unit": pa.array([t.term_unit for t in rows], pa.string()),
            "term_length": pa.array([t.term_length for t in rows], pa.int32()),
            "ordered_at": pa.array([t.ordered_at for t in rows], pa.timestamp("us", tz="UTC")),
            "ordered_date": pa.array([t.ordered_date for t in rows], pa.date32()),
            "recorded_date": pa.array([t.recorded_date for t in rows], pa.date32()),
            "start_date": pa.array([t.start_date for t in rows], pa.date32()),
            "end_date": pa.array([t.end_date for t in rows], pa.date32()),
            "anchor_date": pa.array([t.anchor_date for t in rows], pa.date32()),
            "issue_ids": pa.array([t.issue_ids for t in rows], pa.list_(pa.string())),
            "issue_count": pa.array([len(t.issue_ids) for t in rows], pa.int32()),
            "schedule_product_id": pa.array([t.schedule_product_id for t in rows], pa.string()),
            "quantity": pa.array([t.quantity for t in rows], pa.int32()),
            "currency": pa.array([t.currency for t in rows], pa.string()),
            "tax_rate": pa.array([str(t.tax_rate) for t in rows], pa.string()),
            "unit_price_cents": pa.array([t.unit_price_cents for t in rows], pa.int64()),
            "autorenew": pa.array([t.autorenew for t in rows], pa.bool_()),
            "payment_method_token": pa.array([t.payment_method_token for t in rows], pa.string()),
            "renewal_offer_id": pa.array([t.renewal_offer_id for t in rows], pa.string()),
            "settling_payment_id": pa.array([t.settling_payment_id for t in rows], pa.string()),
            "autocharge_outcome": pa.array([t.autocharge_outcome for t in rows], pa.string()),
        }
    )


def _requests_table(rows: list[terms.Request]) -> pa.Table:
    return pa.table(
        {
            "request_key": pa.array([r.request_key for r in rows], pa.string()),
            "subscription_id": pa.array([r.subscription_id for r in rows], pa.string()),
            "term_number": pa.array([r.term_number for r in rows], pa.int32()),
            "attempt": pa.array([r.attempt for r in rows], pa.int32()),
            "request_date": pa.array([r.request_date for r in rows], pa.date32()),
            "customer_id": pa.array([r.customer_id for r in rows], pa.string()),
            "currency": pa.array([r.currency for r in rows], pa.string()),
            "amount_cents": pa.array([r.amount_cents for r in rows], pa.int64()),
            "renewal_offer_id": pa.array([r.renewal_offer_id for r in rows], pa.string()),
            "payment_method_token": pa.array([r.payment_method_token for r in rows], pa.string()),
            "answer_payment_id": pa.array([r.answer_payment_id for r in rows], pa.string()),
            "answer_status": pa.array([r.answer_status for r in rows], pa.string()),
            "answer_recorded_date": pa.array([r.answer_recorded_date for r in rows], pa.date32()),
        }
    )


def _issues_table(rows: list[terms.Term]) -> pa.Table:
    entitled = [(t, k, ship, issue) for t in rows for k, (ship, issue) in enumerate(t.issues, start=1)]
    return pa.table(
        {
            "subscription_id": pa.array([t.subscription_id for t, _, _, _ in entitled], pa.string()),
            "term_number": pa.array([t.term_number for t, _, _, _ in entitled], pa.int32()),
            "issue_number": pa.array([k for _, k, _, _ in entitled], pa.int32()),
            "issue_id": pa.array([issue for _, _, _, issue in entitled], pa.string()),
            "ship_date": pa.array([ship for _, _, ship, _ in entitled], pa.date32()),
        }
    )


def _windows_table(rows: list[terms.Term]) -> pa.Table:
    moved = [(t, since, end) for t in rows for since, end in t.end_revisions]
    return pa.table(
        {
            "subscription_id": pa.array([t.subscription_id for t, _, _ in moved], pa.string()),
            "term_number": pa.array([t.term_number for t, _, _ in moved], pa.int32()),
            "window_from": pa.array([since for _, since, _ in moved], pa.date32()),
            "end_date": pa.array([end for _, _, end in moved], pa.date32()),
        }
    )


def _notices_table(rows: list[terms.Notice]) -> pa.Table:
    return pa.table(
        {
            "request_key": pa.array([n.request_key for n in rows], pa.string()),
            "subscription_id": pa.array([n.subscription_id for n in rows], pa.string()),
            "term_number": pa.array([n.term_number for n in rows], pa.int32()),
            "notice_date": pa.array([n.due_date for n in rows], pa.date32()),
            "request_date": pa.array([n.charge_date for n in rows], pa.date32()),
            "end_date": pa.array([n.term_end for n in rows], pa.date32()),
            "customer_id": pa.array([n.customer_id for n in rows], pa.string()),
            "currency": pa.array([n.currency for n in rows], pa.string()),
            "amount_cents": pa.array([n.amount_cents for n in rows], pa.int64()),
            "renewal_offer_id": pa.array([n.renewal_offer_id for n in rows], pa.string()),
        }
    )


#: billing_chains' records, in the order of its file: every term, then every request, notice, issue and window
CHAIN_PARTS = tuple(_chain_parts(terms.Chains()))
#: its columns: each record type's, the first time they appear (a column another type lacks is null there)
CHAIN_SCHEMA = pa.concat_tables(list(_chain_parts(terms.Chains()).values()), promote_options="default").schema
#: what a night keeps of its records for the next (lifecycle.billing.carry): each with its part and position
CHAIN_KEPT_SCHEMA = pa.schema([pa.field("part", pa.int8()), *CHAIN_SCHEMA, pa.field("position", pa.int64())])


def _cash_parts(result: cash.Result) -> dict[str, pa.Table]:
    """A walk's records by part, each with its group (customer, currency) and its position in the part."""
    def part(kind: str, rows: list[tuple], size: int) -> pa.Table:
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(9)]
        groups = [key for key, *counts in result.groups for _ in range(counts[size])]
        return pa.table({
            "record_type": pa.array([kind] * len(rows), pa.string()),
            "payment_id": pa.array(columns[0], pa.string()),
            "invoice_id": pa.array(columns[1], pa.string()),
            "customer_id": pa.array(columns[2], pa.string()),
            "currency": pa.array(columns[3], pa.string()),
            "event_date": pa.array(columns[4], pa.date32()),
            "known_date": pa.array(columns[5], pa.date32()),
            "amount_cents": pa.array(columns[6], pa.int64()),
            "kind": pa.array(columns[7], pa.string()),
            "effort_number": pa.array(columns[8], pa.int32()),
            "group_customer": pa.array([g[0] for g in groups], pa.string()),
            "group_currency": pa.array([g[1] for g in groups], pa.string()),
            "position": pa.array(range(len(rows)), pa.int64()),
        })

    return {
        "application": part("application", [
            (a.payment_id, a.invoice_id, a.customer_id, a.currency, a.applied_date, a.known_date, a.amount_cents,
             a.kind, None) for a in result.applications], 0),
        "credit": part("credit", [
            (c.payment_id, c.invoice_id, c.customer_id, c.currency, c.movement_date, c.movement_date,
             c.amount_cents, c.kind, None) for c in result.credits], 1),
        "collection": part("collection", [
            (None, c.invoice_id, None, None, c.event_date, c.event_date, c.balance_cents, c.kind, c.effort_number)
            for c in result.collections], 2),
    }


#: cash_application's records, in the order of its file (numbered 1, 2, … in that order: ``record_number``)
CASH_PARTS = tuple(_cash_parts(cash.Result()))
_GROUPED = _cash_parts(cash.Result())["application"].schema
CASH_SCHEMA = pa.schema([pa.field("record_number", pa.int64()),
                         *(f for f in _GROUPED if f.name not in ("group_customer", "group_currency", "position"))])
#: what a night keeps of its records for the next (lifecycle.billing.carry): each with its part
CASH_KEPT_SCHEMA = pa.schema([pa.field("part", pa.int8()), *_GROUPED])

#: what cash application reads of each input: the fingerprints are of exactly these columns
_INVOICE_COLUMNS = ("invoice_id, customer_id, currency, invoice_date, due_date, known_date, "
                    "cast(round(total_amount * 100) as bigint)")
_PAYMENT_COLUMNS = ("payment_id, customer_id, currency, paid_at, paid_date, known_date, amount_cents, status, "
                    "target_invoice_id, original_payment_id")
_CANCELLATION_COLUMNS = "invoice_id, service_stop, refund_window, unserved_net_cents + unserved_tax_cents"
_GOODWILL_COLUMNS = ("service_action_id, customer_id, currency, action_at, action_date, known_date, "
                     "cast(round(amount * 100) as bigint)")


def cash_application(
    knobs: dict, invoices, payments, cancellations=None, service_actions=None, batch=25_000,
    state: Path | None = None, reuse: bool = True,
) -> Iterator[dict[str, pa.Table]]:
    """Applications, credit movements and collection events, ``batch`` customers at a time (in customer order):
    one table per record type (``CASH_PARTS``) per batch. A customer's cash touches nothing of another customer's.

    With ``state`` (a folder of lifecycle.billing.carry), tonight is kept there for the next night, and (unless
    ``reuse`` is false: a full refresh) a customer whose inputs are those of the latest night kept and whose next
    event is still to come gets that night's records instead of a walk.

    What the engine calls a row's recorded date is the first night it was known: the ``known_date`` column the
    models compute (macro ``known_date``). For the migration load (recorded on the cut-over date) that is the
    event's own date: the legacy system knew it then.
    """
    goodwill = (service_actions.filter("action_type = 'goodwill_credit'") if service_actions is not None else None)
    business_date = date.fromisoformat(knobs["business_date"])
    cash_knobs = cash.Knobs(
        business_date=business_date,
        effort_offsets=_ints(knobs["billing_effort_offsets"]),
        suspension_days=int(knobs["billing_suspension_days"]),
        cancel_days=int(knobs["nonpayment_cancel_days"]),
    )
    inputs = [(invoices, _INVOICE_COLUMNS), (payments, _PAYMENT_COLUMNS), (cancellations, _CANCELLATION_COLUMNS),
              (goodwill, _GOODWILL_COLUMNS)]
    night = carry.Night(
        state, business_date,
        carry.version({k: v for k, v in cash_knobs.__dict__.items() if k != "business_date"},
                      Path(cash.__file__), Path(__file__), Path(carry.__file__)),
        reuse,
        [relation.query("t", carry.fingerprint_sql("customer_id", columns)).to_arrow_table()
         for relation, columns in inputs if relation is not None],
        ("group_customer", "group_currency"), CASH_KEPT_SCHEMA)
    try:
        for bounds in key_ranges(night.keys(), "key", batch):
            where = night.to_walk("customer_id", bounds)
            result = cash.apply_cash(
                invoices=[cash.Invoice(*r) for r in _rows(invoices, f"select {_INVOICE_COLUMNS} from t where {where}")],
                payments=[cash.Payment(*r) for r in _rows(payments, f"select {_PAYMENT_COLUMNS} from t where {where}")],
                knobs=cash_knobs,
                # the invoice's customer: a cancellation belongs to its invoice's group
                cancellations=[cash.Cancellation(*r) for r in (
                    _rows(cancellations, f"select {_CANCELLATION_COLUMNS} from t where {where}")
                    if cancellations is not None else [])],
                goodwill=[cash.GoodwillCredit(*r) for r in (
                    _rows(goodwill, f"select {_GOODWILL_COLUMNS} from t where {where}")
                    if goodwill is not None else [])],
            )
            night.walked((customer, when) for (customer, _), when in result.next_events.items())
            fresh = _cash_parts(result)
            yield {name: night.merge(number, bounds, fresh[name]) for number, name in enumerate(CASH_PARTS)}
    except BaseException:
        night.abandon()
        raise
    night.close()
