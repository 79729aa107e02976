"""Ingest one landing file: parse it with explicit types, split good rows from bad, write raw and quarantine.

The split is SQL generated from the feed contract and run by DuckDB:
1. the file is read twice by DuckDB's CSV reader with an explicit dialect and ``store_rejects``:
   once as text (the original text of every line) and once with the contract's types (a value
   that does not parse is a reject of the reader, with its line and column);
2. every rule of the contract (required, allowed values, minimum, currency, country, event date,
   references, duplicate ids, row rules) is a CASE over the typed row;
3. rows with no failure go to ``raw/<feed>/recorded_date=<D>/data.parquet``; every other line goes
   to ``quarantine/<feed>/recorded_date=<D>/data.parquet`` with file, line, column, rule, message
   and the original text. rows read = accepted + quarantined is computed, not assumed.

A structurally broken file (undecodable bytes, a missing or unknown header column) raises
:class:`BrokenFeedFile` and writes nothing.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from lifecycle.contract import (
    CLOSED_TO_MANUAL_ENTRIES,
    CSV_ERROR_RULES,
    EARLIEST_DATE,
    INTEGER_DIGITS,
    LATEST_DATE,
    RULES,
    SCALE,
    SUPPORTED_CURRENCIES,
    TYPES,
    CumulativeLimit,
    Feed,
    feed,
)
from lifecycle.io.records import split_records
from lifecycle.settings import Settings

QUARANTINE_COLUMNS = (
    "feed", "recorded_date", "file", "line", "column_name", "rule", "message", "original_text",
    "other_failures",
)
#: The exact text formats of the file format (contract docstring), per column type.
TEXT_FORMATS: dict[str, tuple[str, str]] = {
    "integer": ("invalid_integer", r"-?[0-9]+"),
    "decimal": ("invalid_decimal", r"-?[0-9]+(\.[0-9]+)?"),
    "money": ("invalid_decimal", r"-?[0-9]+(\.[0-9]+)?"),
    "boolean": ("invalid_boolean", r"true|false"),
    "date": ("invalid_date", r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
}
#: dbt seeds a feed's row rules may read (``Feed.seed_lookups``).
SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
#: An ISO 8601 timestamp with a UTC offset between -14:00 and +14:00 (the offsets in use on Earth).
TIMESTAMP_PATTERN = (r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                     r"([+-](0\d|1[0-3])(:?[0-5]\d)?|[+-]14(:?00)?|Z)$")
#: Numbers are read as text: the typed value exists only when the text is a plausible, exact number.
NUMERIC = ("integer", "decimal", "money")


def exact_number_pattern(type_: str) -> str:
    """The text of a number this type stores exactly: within its digits, its places (plus trailing zeros)."""
    digits = INTEGER_DIGITS[type_]
    if type_ == "integer":
        return rf"-?0*[0-9]{{1,{digits}}}"
    return rf"-?0*[0-9]{{1,{digits}}}(\.[0-9]{{1,{SCALE[type_]}}}0*)?"



class BrokenFeedFile(Exception):
    """The file cannot be read as this feed at all: nothing of it is ingested."""


class ControlTotalsMismatch(BrokenFeedFile):
    """The migration file's accepted rows differ from the load's control totals: nothing of it is ingested."""


@dataclass
class IngestResult:
    feed: str
    recorded_date: date
    file: str | None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    raw_path: str = ""
    quarantine_path: str = ""
    control_totals: list[dict] = field(default_factory=list)  # the migration load's, on the cut-over night

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def partition_path(root: Path, feed_name: str, recorded_date: date) -> Path:
    return root / feed_name / f"recorded_date={recorded_date.isoformat()}" / "data.parquet"


def check_structure(path: Path, contract: Feed) -> None:
    """Refuse a file whose bytes are not UTF-8 or whose header is not the contract's columns (streamed)."""
    first = None
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BrokenFeedFile(
                    f"{path}: line {number}: bytes at offset {exc.start} of the line are not valid UTF-8 "
                    f"({exc.reason}); feed {contract.name} ingests nothing from this file"
                ) from None
            if first is None:
                first = text.lstrip("\ufeff").rstrip("\n").rstrip("\r")
    first = first or ""
    if not first.strip():
        raise BrokenFeedFile(f"{path}: line 1: the header line is empty; feed {contract.name} ingests nothing")
    header = next(csv.reader(io.StringIO(first)))
    expected = contract.column_names
    missing = [c for c in expected if c not in header]
    unknown = [c for c in header if c not in expected]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    if duplicated:
        problems.append(f"duplicated column(s) {', '.join(duplicated)}")
    if problems:
        raise BrokenFeedFile(
            f"{path}: line 1 (header): {'; '.join(problems)}; feed {contract.name} ingests nothing from this file"
        )


def _read_csv_sql(path: Path, columns: dict[str, str]) -> str:
    cols = ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in columns.items())
    return (
        f"read_csv({_sql_str(str(path))}, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"new_line = '\\n', auto_detect = false, strict_mode = true, store_rejects = true, "
        f"columns = {{{cols}}})"
    )


def text_format_hint(type_: str) -> str:
    return {
        "integer": "a whole number is written with digits only (e.g. 12)",
        "decimal": "a decimal is written with digits and an optional '.' (e.g. 1234.50)",
        "money": "an amount is written with digits and an optional '.' (e.g. 1234.50)",
        "boolean": "a boolean is written true or false",
        "date": "a date is written YYYY-MM-DD",
    }[type_]


def _rule_cases(contract: Feed, settings: Settings, recorded_date: date) -> list[str]:
    """One SQL expression per (rule, column), in RULES order; each yields 'rule|column|message' or NULL."""
    d = _sql_str(recorded_date.isoformat())
    tz = _sql_str(settings.timezone)
    by_rule: dict[str, list[str]] = {r: [] for r in RULES}

    def add(rule: str, col: str, condition: str, message: str) -> None:
        by_rule[rule].append(
            f"case when {condition} then {_sql_str(rule + '|' + col + '|' + message)} end"
        )

    currencies = ", ".join(_sql_str(c) for c in SUPPORTED_CURRENCIES)
    for col in contract.columns:
        c = f't."{col.name}"'
        if col.type in TEXT_FORMATS:
            rule, pattern = TEXT_FORMATS[col.type]
            text = f't."_text_{col.name}"'
            add(rule, col.name, f"{text} is not null and not regexp_full_match({text}, {_sql_str(pattern)})",
                f"{text_format_hint(col.type)}")
        if col.type == "timestamp":
            add("invalid_timestamp", col.name,
                f"{c} is not null and (not regexp_full_match({c}, {_sql_str(TIMESTAMP_PATTERN)}) "
                f"or try_cast({c} as timestamptz) is null)",
                "not an ISO 8601 timestamp with a UTC offset of at most ±14:00")
        if col.type in NUMERIC:
            text = f't."_text_{col.name}"'
            well_formed = f"{text} is not null and regexp_full_match({text}, {_sql_str(TEXT_FORMATS[col.type][1])})"
            digits = INTEGER_DIGITS[col.type]
            too_long = _sql_str(r"-?0*[1-9][0-9]{" + str(digits) + r",}(\.[0-9]+)?")
            add("out_of_range", col.name, f"{well_formed} and regexp_full_match({text}, {too_long})",
                f"more than {digits} digits before the decimal point: not a plausible value")
            if col.type in SCALE:
                places = SCALE[col.type]
                too_fine = _sql_str(r"-?[0-9]+\.[0-9]{" + str(places) + r"}0*[1-9][0-9]*")
                add("too_many_decimals", col.name, f"{well_formed} and regexp_full_match({text}, {too_fine})",
                    f"more than {places} decimal places" + (" (an amount is in cents)" if col.type == "money" else ""))
        if col.type in ("date", "timestamp"):
            day = c if col.type == "date" else f"cast(timezone({tz}, try_cast({c} as timestamptz)) as date)"
            add("implausible_date", col.name,
                f"{day} < date {_sql_str(EARLIEST_DATE)} or {day} > date {_sql_str(LATEST_DATE)}",
                f"outside the dates the warehouse holds ({EARLIEST_DATE} to {LATEST_DATE})")
        if col.required:
            empty = f'{c} is null and t."_text_{col.name}" is null' if col.type in NUMERIC else f"{c} is null"
            add("missing_value", col.name, empty, "required value is empty")
        if col.type == "currency":
            add("unsupported_currency", col.name, f"{c} not in ({currencies})",
                f"currency must be one of {', '.join(SUPPORTED_CURRENCIES)}")
        if col.type == "country":
            add("invalid_country", col.name, f"not regexp_full_match({c}, '[A-Z]{{2}}')",
                "country must be two capital letters (ISO 3166-1 alpha-2)")
        if col.allowed:
            allowed = ", ".join(_sql_str(v) for v in col.allowed)
            add("not_allowed", col.name, f"{c} not in ({allowed})", f"allowed values: {', '.join(col.allowed)}")
        if col.minimum is not None:
            add("below_minimum", col.name, f"{c} < {col.minimum}", f"must be at least {col.minimum}")
        if col.event_time:
            if col.type == "timestamp":
                local_date = f"cast(timezone({tz}, try_cast({c} as timestamptz)) as date)"
            else:
                local_date = c
            add("after_recorded_date", col.name, f"{local_date} > date {d}",
                f"dated after the file's recorded date {recorded_date.isoformat()} ({settings.timezone})")
        if col.references:
            ref_feed, ref_col = col.references.split(".")
            add("unknown_reference", col.name,
                f"{c} is not null and not exists (select 1 from ref_{ref_feed} r where r.\"{ref_col}\" = {c})",
                f"no {ref_feed} row with {ref_col} equal to this value")
    key_match = " and ".join(f'p."{k}" = t."{k}"' for k in contract.key)
    key_col = contract.key[0] if len(contract.key) == 1 else "+".join(contract.key)
    if contract.is_event:
        add("duplicate_id", key_col,
            f"(exists (select 1 from prior p where {key_match}) "
            f"or exists (select 1 from cur p where {key_match} and p._record < t._record))",
            "this id was already used in this file or an earlier one")
    else:
        add("duplicate_key", key_col,
            f"exists (select 1 from cur p where {key_match} and p._record < t._record)",
            "this key appears earlier in the same file; send one row per key and file")
    for rr in contract.row_rules:
        add(rr.rule, rr.column, f"coalesce({rr.violation}, false)", rr.description)
    return [expr for rule in RULES for expr in by_rule[rule]]


def _typed_value(col, text: str) -> str:
    """The typed value of a column from the reader's value: a number only when its text is exact and plausible."""
    if col.type not in NUMERIC:
        return f'{text} as "{col.name}"'
    read = TYPES[col.type]["read"]
    return (f"case when regexp_full_match({text}, {_sql_str(exact_number_pattern(col.type))}) "
            f'then cast({text} as {read}) end as "{col.name}"')


def _stored_select(contract: Feed, alias: str = "t") -> str:
    parts = []
    for col in contract.columns:
        store = TYPES[col.type]["store"]
        parts.append(f'cast({alias}."{col.name}" as {store}) as "{col.name}"')
    return ", ".join(parts)


def _empty_relation(contract: Feed, types: str = "store") -> str:
    cols = ", ".join(f'cast(null as {TYPES[c.type][types]}) as "{c.name}"' for c in contract.columns)
    return f"select {cols} where false"


def _ref_relation(con: duckdb.DuckDBPyConnection, settings: Settings, ref_feed: str, recorded_date: date,
                  include_today: bool) -> str:
    """Rows of a feed recorded before D (and on D when include_today)."""
    op = "<=" if include_today else "<"
    root = settings.raw / ref_feed
    if not any(root.glob("recorded_date=*/data.parquet")):
        return _empty_relation(feed(ref_feed))
    glob = _sql_str(str(root / "recorded_date=*" / "data.parquet"))
    return (f"select * from read_parquet({glob}, hive_partitioning = false) "
            f"where _recorded_date {op} date {_sql_str(recorded_date.isoformat())}")


def _seed_relation(settings: Settings, seed: str) -> str:
    """A dbt seed as a lookup: the chart of accounts with the deployment's account-code overrides."""
    if seed != "chart_of_accounts":
        raise ValueError(f"no lookup for seed {seed}")
    overrides = " union all ".join(
        f"select {_sql_str(k)} as account_key, {_sql_str(v)} as code" for k, v in sorted(settings.account_codes.items())
    ) or "select null::varchar as account_key, null::varchar as code where false"
    closed = ", ".join(_sql_str(k) for k in CLOSED_TO_MANUAL_ENTRIES)
    path = _sql_str(str(SEEDS / "chart_of_accounts.csv"))
    return (f"select s.account_key, coalesce(o.code, s.account_code) as account_code, "
            f"s.account_key in ({closed}) as is_closed_to_manual "
            f"from read_csv({path}, header = true, all_varchar = true) as s "
            f"left join ({overrides}) as o on o.account_key = s.account_key")


def ingest_file(settings: Settings, feed_name: str, recorded_date: date) -> IngestResult:
    """Ingest ``landing/<feed>/<D>.csv`` (or record an empty partition when there is no file)."""
    contract = feed(feed_name)
    path = settings.landing_file(feed_name, recorded_date)
    raw_out = partition_path(settings.raw, feed_name, recorded_date)
    q_out = partition_path(settings.quarantine, feed_name, recorded_date)
    rel_file = str(path.relative_to(settings.home)) if path.exists() else None
    result = IngestResult(feed_name, recorded_date, rel_file, raw_path=str(raw_out), quarantine_path=str(q_out))

    if path.exists():
        check_structure(path, contract)
    size = path.stat().st_size if path.exists() else 0
    try:
        _split_and_write(settings, contract, path, recorded_date, rel_file, result, _memory_limit(size))
    except duckdb.OutOfMemoryException:  # a step that cannot spill needed more: the same split, unbounded
        _split_and_write(settings, contract, path, recorded_date, rel_file, result, None)
    return result


#: a landing file bigger than this is split under a memory limit of twice its size
BOUNDED_BYTES = 16 * 1024 * 1024


def _memory_limit(file_bytes: int) -> str | None:
    """DuckDB's memory limit for splitting a file: twice the file (at least 256 MiB) for a big file, beyond which
    the split's tables go to the scratch folder (a 200 MB payments file held 2–3 GB without it); none for a small
    one."""
    if file_bytes <= BOUNDED_BYTES:
        return None
    return f"{max(256, 2 * file_bytes // (1024 * 1024))}MiB"


def _split_and_write(settings: Settings, contract: Feed, path: Path, recorded_date: date, rel_file: str | None,
                     result: IngestResult, memory_limit: str | None) -> None:
    raw_out, q_out = Path(result.raw_path), Path(result.quarantine_path)
    with tempfile.TemporaryDirectory(prefix=f"ingest-{contract.name}-") as scratch:
        con = duckdb.connect()
        try:
            con.execute("set threads = 1")  # keeps row order and output bytes stable
            con.execute("set TimeZone = 'UTC'")
            con.execute("set enable_progress_bar = false")  # a big file's queries would draw bars in the night's log
            con.execute(f"set temp_directory = {_sql_str(str(Path(scratch) / 'spill'))}")
            if memory_limit:
                con.execute(f"set memory_limit = '{memory_limit}'")
            _split(con, settings, contract, path if path.exists() else None, recorded_date, rel_file, Path(scratch))
            result.control_totals = _check_control_totals(con, settings, contract.name, recorded_date, path)
            _write(con, contract, raw_out, q_out, recorded_date)
            result.rows_read = con.execute(
                "select (select count(*) from lines) + (select count(*) from refused)").fetchone()[0]
            result.rows_accepted = con.execute("select count(*) from accepted").fetchone()[0]
            result.rows_quarantined = con.execute("select count(*) from quarantined").fetchone()[0]
            result.quarantined_by_rule = dict(
                con.execute("select rule, count(*) from quarantined group by rule order by rule").fetchall()
            )
        finally:
            con.close()


def _split(con: duckdb.DuckDBPyConnection, settings: Settings, contract: Feed, path: Path | None,
           recorded_date: date, rel_file: str | None, scratch: Path) -> None:
    names = contract.column_names
    # DuckDB's typed read is lenient ('yes' is a boolean, '12.5' a BIGINT, '1e3' a DECIMAL): the
    # text of every typed column is also checked against the contract's exact format.
    strict = [c.name for c in contract.columns if c.type in TEXT_FORMATS]
    refused_columns = "line bigint, column_name varchar, rule varchar, message varchar, original_text varchar, " \
                      "other_failures varchar"
    if path is None:
        con.execute("create table lines as select 0::bigint as _record, 0::bigint as line, ''::varchar as original_text "
                    "where false")
        con.execute(f"create table refused ({refused_columns})")
        texts = "".join(f', null::varchar as "_text_{c}"' for c in strict)
        con.execute(f"create table typed as select 0::bigint as _record, *{texts} from ("
                    + _empty_relation(contract, "read") + ")")
        con.execute("create table reader_rejects (_record bigint, column_name varchar, rule varchar, message varchar, "
                    "original_text varchar, idx bigint)")
    else:
        # 0. records and their physical lines (any line ending, quotes across lines, field counts, control
        # characters); the reader reads the records that passed, one per line.
        records = split_records(path, scratch / "records.csv")
        header = records.header
        path = scratch / "records.csv"
        record_lines = pa.table({"k": pa.array(range(1, len(records.lines) + 1), pa.int64()),
                                 "line": pa.array(records.lines, pa.int64())})
        refused = pa.Table.from_pylist([r.__dict__ for r in records.refused], schema=pa.schema([
            ("line", pa.int64()), ("column_name", pa.string()), ("rule", pa.string()), ("message", pa.string()),
            ("original_text", pa.string()), ("other_failures", pa.string())]))
        con.register("record_lines_arrow", record_lines)
        con.register("refused_arrow", refused)
        con.execute("create table record_lines as select * from record_lines_arrow")
        con.execute("create table refused as select * from refused_arrow")
        con.unregister("record_lines_arrow")
        con.unregister("refused_arrow")
        # 1. the original text of every line: all columns read as text.
        con.execute(f"create table text_rows as select * from {_read_csv_sql(path, {h: 'VARCHAR' for h in header})}")
        con.execute("create table text_rejects as select cast(line as bigint) - 1 as _record, error_type, csv_line, column_idx "
                    "from reject_errors")
        con.execute("delete from reject_errors; delete from reject_scans")
        # 2. the typed read: the contract's read types; a value that does not parse is a reject.
        read_types = {h: "VARCHAR" if contract.column(h).type in NUMERIC else TYPES[contract.column(h).type]["read"]
                      for h in header}
        con.execute(f"create table typed_read as select * from {_read_csv_sql(path, read_types)}")
        con.execute("create table typed_rejects as select cast(line as bigint) - 1 as _record, error_type, csv_line, column_name, "
                    "column_idx, error_message from reject_errors")
        # Record numbers of the rows a read returned = the records it did not reject, in order.
        total = con.execute(
            "select (select count(*) from text_rows) + (select count(distinct _record) from text_rejects)"
        ).fetchone()[0]
        con.execute(f"""
            create table text_numbered as
            with recs as (
                select r as _record from range(1, {total} + 1) t(r)
                where r not in (select _record from text_rejects)
            ), n as (select _record, row_number() over (order by _record) as rn from recs),
            rows as (select *, row_number() over () as rn from text_rows)
            select n._record, rows.* exclude (rn) from rows join n using (rn)
        """)
        quoted = ", ".join(
            f"""case when "{h}" is null then '' when regexp_matches("{h}", '[",\\r\\n]') """
            f"""then '"' || replace("{h}", '"', '""') || '"' else "{h}" end""" for h in header
        )
        con.execute(f"""
            create table lines as
            select _record, r.line, original_text from (
                select _record, concat_ws(',', {quoted}) as original_text from text_numbered
                union all
                select _record, any_value(csv_line) from text_rejects group by _record
            ) join record_lines r on r.k = _record
        """)
        con.execute(f"""
            create table typed as
            with recs as (
                select _record from lines
                where _record not in (select _record from typed_rejects)
            ), n as (select _record, row_number() over (order by _record) as rn from recs),
            rows as (select *, row_number() over () as rn from typed_read)
            select n._record, {", ".join(_typed_value(contract.column(c), f'rows."{c}"') for c in names)},
                   {", ".join(f'x."{c}" as "_text_{c}"' for c in strict)}
            from rows join n using (rn) left join text_numbered x on x._record = n._record
        """)
        # a big file's copies are freed as soon as the next one holds what is needed
        con.execute("drop table text_rows; drop table typed_read; drop table record_lines")
        if not contract.group_key:
            con.execute("drop table text_numbered")
        cast_rules = {col.name: f"invalid_{'decimal' if col.type in ('money', 'decimal') else col.type}"
                      for col in contract.columns}
        by_column = " ".join(f"when column_name = {_sql_str(k)} then {_sql_str(v)}" for k, v in cast_rules.items())
        structural = " ".join(f"when error_type = {_sql_str(k)} then {_sql_str(v)}" for k, v in CSV_ERROR_RULES.items())
        con.execute(f"""
            create table reader_rejects as
            select _record, coalesce(column_name, '') as column_name,
                   case when error_type = 'CAST' then (case {by_column} else 'malformed_line' end)
                        {structural} else 'malformed_line' end as rule,
                   error_message as message, csv_line as original_text, column_idx as idx
            from typed_rejects
        """)
        # A short line is one failure, not one per absent column.
        con.execute("""
            delete from reader_rejects r where rule = 'missing_columns' and idx > (
                select min(idx) from reader_rejects m where m._record = r._record and m.rule = 'missing_columns')
        """)

    # Lookup relations for references and duplicates.
    con.execute(f"create or replace view prior as {_ref_relation(con, settings, contract.name, recorded_date, False)}")
    con.execute("create or replace view cur as select * from typed")
    refs = {c.references.split(".")[0] for c in contract.columns if c.references} | set(contract.lookups)
    for ref in sorted(refs):
        if ref == contract.name:
            # _ref_order: which of the rows with one id is the one that counts (an accepted earlier row, else the
            # first in the file: a later one is a duplicate)
            own_cols = ", ".join(f'"{c}"' for c in names)
            con.execute(f"create or replace view ref_{ref} as select {own_cols}, -1 as _ref_order from prior "
                        f"union all select {own_cols}, _record as _ref_order from cur")
        else:
            con.execute(f"create or replace view ref_{ref} as "
                        f"{_ref_relation(con, settings, ref, recorded_date, True)}")
    for seed in contract.seed_lookups:
        con.execute(f"create or replace view ref_{seed} as {_seed_relation(settings, seed)}")
    if contract.name == "orders":
        con.execute("create or replace view prior_subscriptions as select subscription_id from prior")
        # subscriptions are started by new and gift orders (a renewal naming itself starts nothing)
        con.execute("create or replace view ref_subscriptions as "
                    "select subscription_id from prior where order_type in ('new', 'gift') union all "
                    "select subscription_id from cur where order_type in ('new', 'gift')")

    cases = _rule_cases(contract, settings, recorded_date)
    failures = "list_filter([" + ", ".join(cases) + "], lambda x: x is not null)" if cases else "[]::varchar[]"
    con.execute(f"create table judged as select t.*, {failures} as _failures from typed t")
    if contract.group_key:
        _judge_groups(con, contract, has_text=path is not None)
    for limit in contract.limits:
        _judge_limit(con, contract, limit)
    con.execute(f"""
        create table accepted as
        select {_stored_select(contract)}, date {_sql_str(recorded_date.isoformat())} as _recorded_date,
               {_sql_str(rel_file or '')} as _source_file, l.line as _source_line
        from judged t join lines l using (_record) where len(t._failures) = 0 order by t._record
    """)
    file_sql = _sql_str(rel_file or "")
    con.execute(f"""
        create table quarantined as
        with rule_failures as (
            select _record, split_part(_failures[1], '|', 1) as rule, split_part(_failures[1], '|', 2) as column_name,
                   split_part(_failures[1], '|', 3) as message,
                   array_to_string(list_transform(_failures[2:], lambda f: split_part(f, '|', 1) || ':' || split_part(f, '|', 2)), '; ')
                       as other_failures
            from judged where len(_failures) > 0
        ), reader as (
            select _record, arg_min(rule, idx) as rule, arg_min(column_name, idx) as column_name,
                   arg_min(message, idx) as message,
                   string_agg(rule || ':' || column_name, '; ' order by idx) as all_failures
            from reader_rejects group by _record
        ), both_ as (
            select _record, rule, column_name, message, other_failures from rule_failures
            union all
            select _record, rule, column_name, message,
                   nullif(array_to_string(string_split(all_failures, '; ')[2:], '; '), '') from reader
        )
        , found as (
            select l.line, b.column_name, b.rule, b.message, l.original_text, nullif(b.other_failures, '') as other_failures
            from both_ b left join lines l using (_record)
            union all
            select line, column_name, rule, message, original_text, other_failures from refused
        )
        select {_sql_str(contract.name)} as feed, date {_sql_str(recorded_date.isoformat())} as recorded_date,
               {file_sql} as file, line, column_name, rule, message, original_text, other_failures
        from found
        order by line
    """)


def _judge_groups(con: duckdb.DuckDBPyConnection, contract: Feed, has_text: bool) -> None:
    """Lines accepted or refused together (a manual journal entry): the group rules refuse every line of a
    group that breaks them; then a group with any refused line (its own rule, a group rule or a value the
    reader could not parse) has its other lines refused as ``entry_refused``, naming the group and the line."""
    key = contract.group_key
    join = " and ".join(f't."{k}" = g."{k}"' for k in key)
    keys = ", ".join(f'"{k}"' for k in key)
    lines = "text_numbered" if has_text else "typed"
    # a group with a line the reader could not parse is refused for that line; its sums would be partial
    unconverted = " or ".join(f'("{c.name}" is null and "_text_{c.name}" is not null)'
                              for c in contract.columns if c.type in NUMERIC) or "false"
    con.execute(f"create or replace view unparsed_groups as select distinct {keys} from {lines} "
                f"where _record in (select _record from reader_rejects) "
                f"or _record in (select _record from typed where {unconverted})")
    parts = []
    for order, gr in enumerate(contract.group_rules):
        missing = [k for k in key if k not in gr.by]
        if missing:  # pragma: no cover - a contract mistake, caught by the contract tests
            raise ValueError(f"{contract.name}: group rule on {gr.column} must group by {', '.join(key)}")
        by = ", ".join(f'"{c}"' for c in gr.by)
        parts.append(
            f"select t._record, {order} as _order, {_sql_str(gr.rule + '|' + gr.column + '|')} || g._message as f "
            f"from typed t inner join (select {by}, {gr.message} as _message from typed "
            f"where ({keys}) not in (select ({keys}) from unparsed_groups) group by {by} "
            f"having {gr.having}) as g on {join}"
        )
    if parts:
        con.execute(f"""
            create or replace table judged as
            select j.* exclude (_failures), list_concat(j._failures, coalesce(g.fs, []::varchar[])) as _failures
            from judged j
            left join (select _record, list(f order by _order, f) as fs from ({" union all ".join(parts)})
                       group by _record) as g using (_record)
            order by j._record
        """)
    label = key[0].removesuffix("_id")
    message = (f"{_sql_str(label + ' ')} || g.\"{key[0]}\" || ' is refused whole: line ' || "
               f"cast(g.first_bad_line as varchar) || ' is refused (' || g.first_rule || ')'")
    con.execute(f"""
        create or replace table judged as
        with refused_lines as (
            select _record, split_part(_failures[1], '|', 1) as rule from judged where len(_failures) > 0
            union all
            select _record, rule from reader_rejects
        ), bad_groups as (
            select {", ".join(f'k."{k}"' for k in key)}, min(l.line) as first_bad_line,
                   arg_min(r.rule, r._record) as first_rule
            from refused_lines r inner join (select _record, {keys} from {lines}) as k using (_record)
            inner join lines l using (_record)
            group by all
        )
        select t.* exclude (_failures),
               case when len(t._failures) = 0 and g.first_bad_line is not null
                    then [{_sql_str('entry_refused|' + key[0] + '|')} || {message}]
                    else t._failures end as _failures
        from judged t left join bad_groups g on {join}
        order by t._record
    """)


def _judge_limit(con: duckdb.DuckDBPyConnection, contract: Feed, limit: CumulativeLimit) -> None:
    """Walk the rows naming each row in file order, accepting a row while the running total stays within the
    named row's limit (a row that would pass it is refused and does not count)."""
    own = contract.key[0]
    col, by = f'"{limit.column}"', f'"{limit.by}"'
    message = (f"{_sql_str('reversals of ' + limit.by.removeprefix('original_').removesuffix('_id') + ' ')} || w.{by} || ' would reach ' "
               f"|| cast(w.before + w.{col} as varchar) || ' (this row ' || cast(w.{col} as varchar) || ', accepted "
               f"before it ' || cast(w.before as varchar) || '), more than its ' || cast(w._limit as varchar)")
    con.execute(f"""
        create or replace table judged as
        with recursive earlier as (
            select t.{by}, sum(t.{col}) as amount from prior t where {limit.applies} and t.{by} is not null
            group by t.{by}
        ), named as (
            -- the row each id names: the accepted one, or the file's first (its duplicates do not count)
            select o."{own}" as {by}, arg_min({limit.limit}, o._ref_order) as _limit
            from ref_{contract.name} o where o."{own}" in (select {by} from judged)
            group by o."{own}"
        ), candidates as (
            select t._record, t.{by}, t.{col}, coalesce(e.amount, 0) as earlier,
                   row_number() over (partition by t.{by} order by t._record) as n,
                   named._limit
            from judged t left join earlier e on e.{by} = t.{by} left join named on named.{by} = t.{by}
            where len(t._failures) = 0 and {limit.applies} and t.{by} is not null
        ), walk as (
            select c._record, c.{by}, c.{col}, c._limit, c.n, c.earlier as before,
                   c.earlier + c.{col} > c._limit as refused,
                   case when c.earlier + c.{col} > c._limit then c.earlier else c.earlier + c.{col} end as total
            from candidates c where c.n = 1
            union all
            select c._record, c.{by}, c.{col}, c._limit, c.n, w.total,
                   w.total + c.{col} > c._limit,
                   case when w.total + c.{col} > c._limit then w.total else w.total + c.{col} end
            from walk w join candidates c on c.{by} = w.{by} and c.n = w.n + 1
        ), over_limit as (
            select w._record, {_sql_str(limit.rule + '|' + limit.column + '|')} || {message} as f
            from walk w where w.refused
        )
        select j.* exclude (_failures),
               case when o.f is null then j._failures else list_append(j._failures, o.f) end as _failures
        from judged j left join over_limit o using (_record)
        order by j._record
    """)


def _check_control_totals(con: duckdb.DuckDBPyConnection, settings: Settings, feed_name: str, recorded_date: date,
                          path: Path) -> list[dict]:
    """On the cut-over night, compare the accepted rows with the migration load's control totals, if delivered."""
    from lifecycle.io import migration_control as mc

    if settings.cutover_date != recorded_date or not mc.slices_of(feed_name):
        return []
    control_file = mc.control_path(settings, recorded_date)
    if not control_file.exists():
        return []
    try:
        control = mc.read_control(control_file)
    except mc.BrokenControlFile as exc:
        raise BrokenFeedFile(f"{exc}; the migration control file is broken, so feed {feed_name} ingests nothing "
                             "from its migration file") from None
    results = mc.compare(control, mc.found_totals(con, feed_name), feed_name)
    if not all(r["matches"] for r in results):
        quarantined = con.execute("select count(*) from quarantined").fetchone()[0]
        raise ControlTotalsMismatch(mc.mismatch_message(path, control_file, results, quarantined, feed_name))
    return results


def _write(con: duckdb.DuckDBPyConnection, contract: Feed, raw_out: Path, q_out: Path, recorded_date: date) -> None:
    """Replace this date's partitions (re-ingesting a date never duplicates)."""
    for out, table in ((raw_out, "accepted"), (q_out, "quarantined")):
        if out.parent.exists():
            shutil.rmtree(out.parent)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".parquet.tmp")
        con.execute(f"copy (select * from {table}) to {_sql_str(str(tmp))} (format parquet, compression zstd)")
        tmp.replace(out)
