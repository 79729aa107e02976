"""Properties of ingestion over every feed of the contract (Hypothesis).

1. A valid file reads the same in every dialect a sender might write: LF or CRLF, every field quoted or
   only where needed, with or without a BOM, with or without a final line end. Raw and quarantine are the
   same as for the file as generated.
2. Mutated lines never make ingestion raise: random text, extra or missing fields, huge, negative or
   odd numbers, control characters, stray quotes, bad dates and offsets. Every line has one outcome
   (rows read = accepted + quarantined = the file's non-blank lines), every quarantine row names a line
   of the file and that line's text (its fields), and every accepted number is the number written, to the
   last digit. Bytes that are not UTF-8 refuse the file with a message naming it and the line.

``make test`` runs a bounded, derandomised number of examples; ``make fuzz`` runs many more with fresh
randomness (``LIFECYCLE_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lifecycle.contract import feed, ingestion_order
from lifecycle.io.ingest import BrokenFeedFile, ingest_file

FUZZ = int(os.environ.get("LIFECYCLE_FUZZ_EXAMPLES", "0"))
EXAMPLES = settings(
    max_examples=FUZZ or 40, deadline=None, derandomize=not FUZZ, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # shrinking a failure costs minutes per ingest-bound example: make fuzz shrinks, make test reports it as found
    phases=list(Phase) if FUZZ else [Phase.explicit, Phase.generate],
)
END = date(2026, 11, 24)
CUTOVER = END - timedelta(days=1)
#: feeds with rows in the sample's cut-over file (the migration: every feed's history)
FEEDS = [name for name in ingestion_order() if name != "migration_control"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A small generated home, its cut-over night ingested feed by feed: the baseline of every property."""
    from lifecycle.generator import generate
    from lifecycle.settings import get_settings, load_settings

    home = tmp_path_factory.mktemp("props") / "home"
    generate(home, customers=60, seed=11, start=date(2025, 6, 1), end=END, cutover=CUTOVER)
    load_settings.cache_clear()
    s = get_settings(home)
    # without the migration's control totals: a mutated line would refuse the whole load (tested elsewhere)
    s.landing_file("migration_control", CUTOVER).unlink(missing_ok=True)
    baseline = {}
    for name in ingestion_order():
        result = ingest_file(s, name, CUTOVER)
        baseline[name] = (_rows(result.raw_path), _rows(result.quarantine_path, quarantine=True))
    files = {name: s.landing_file(name, CUTOVER) for name in FEEDS if s.landing_file(name, CUTOVER).exists()}
    return Sample(s, baseline, {name: path.read_bytes() for name, path in files.items()})


class Sample(tuple):
    """(settings, baseline outputs, original files): shown by its home only when Hypothesis reports a failure."""

    def __new__(cls, *parts):
        return super().__new__(cls, parts)

    def __repr__(self) -> str:
        return f"Sample({self[0].home})"


def _rows(path: str, quarantine: bool = False) -> list[tuple]:
    if not Path(path).exists():
        return []
    columns = "line, column_name, rule, original_text" if quarantine else "* exclude (_source_file)"
    return duckdb.sql(f"select {columns} from read_parquet('{path}') order by all").fetchall()


def _restore(s, name: str, original: bytes) -> None:
    s.landing_file(name, CUTOVER).write_bytes(original)


DIALECTS = st.fixed_dictionaries({
    "terminator": st.sampled_from(["\n", "\r\n"]),
    "quote_all": st.booleans(),
    "bom": st.booleans(),
    "final_newline": st.booleans(),
})


def _rewrite(original: bytes, dialect: dict) -> bytes:
    lines = list(csv.reader(io.StringIO(original.decode("utf-8"), newline="")))
    buf = io.StringIO()
    csv.writer(buf, lineterminator=dialect["terminator"],
               quoting=csv.QUOTE_ALL if dialect["quote_all"] else csv.QUOTE_MINIMAL).writerows(lines)
    text = buf.getvalue()
    if not dialect["final_newline"]:
        text = text.removesuffix(dialect["terminator"])
    return (("\ufeff" if dialect["bom"] else "") + text).encode("utf-8")


@EXAMPLES
@given(data=st.data(), dialect=DIALECTS)
def test_a_valid_file_reads_the_same_in_every_dialect(sample, data, dialect):
    s, baseline, originals = sample
    name = data.draw(st.sampled_from(sorted(originals)), label="feed")
    try:
        s.landing_file(name, CUTOVER).write_bytes(_rewrite(originals[name], dialect))
        result = ingest_file(s, name, CUTOVER)
    finally:
        _restore(s, name, originals[name])
    raw, quarantined = baseline[name]
    assert _rows(result.raw_path) == raw
    # the original text of a refused line is as the sender wrote it: compare everything else
    assert [q[:3] for q in _rows(result.quarantine_path, quarantine=True)] == [q[:3] for q in quarantined]
    ingest_file(s, name, CUTOVER)  # back to the baseline for the next example


NUMBERS = st.one_of(
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
    st.sampled_from(["1e5", "1,000.00", "0x1F", "+5", ".5", "5.", "-0", "00000000000000000000012", "1.000000000001",
                     "９", "NaN", "inf", "0.0625000000001", "99999999999999999999.99"]),
)
DATES = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.sampled_from(["2026-02-30", "2026-13-01", "26-01-01", "2026-1-1", "0000-01-01", "1999-12-31", "2100-01-01",
                     "2026-11-23T10:00:00+25:00", "2026-11-23T10:00:00+14:01", "2026-11-23T10:00:00-14:00",
                     "2026-11-23T10:00:00", "2026-11-23 10:00:00Z", "2026-11-23T24:00:00+00:00"]),
)
TEXTS = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8", max_codepoint=0x7f), max_size=12),
    st.sampled_from(['"', '""', 'a"b', '"a"b', "\x00", "\r", "\t", " ", "=HYPERLINK(1)", "\u2028", "é"]),
)


def _mutate(line: str, kind: str, value: str, where: int) -> str:
    try:
        fields = next(csv.reader([line])) if line else [""]
    except csv.Error:  # an earlier mutation put a line break in this line
        fields = line.split(",")
    i = where % len(fields)
    if kind == "replace":
        fields[i] = value
    elif kind == "insert":
        fields.insert(i, value)
    elif kind == "drop":
        del fields[i]
    elif kind == "raw":  # written without quoting, as a careless sender would
        return ",".join(fields[:i] + [value] + fields[i + 1:])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


MUTATIONS = st.lists(st.tuples(
    st.integers(min_value=0, max_value=10**6),  # which line
    st.sampled_from(["replace", "insert", "drop", "raw"]),
    st.one_of(NUMBERS, DATES, TEXTS),
    st.integers(min_value=0, max_value=100),  # which field
), min_size=1, max_size=12)


@EXAMPLES
@given(data=st.data(), mutations=MUTATIONS, bad_bytes=st.booleans())
def test_mutated_lines_are_quarantined_never_a_crash(sample, data, mutations, bad_bytes):
    s, _, originals = sample
    name = data.draw(st.sampled_from(sorted(originals)), label="feed")
    lines = originals[name].decode("utf-8").split("\n")
    body = [i for i in range(1, len(lines)) if lines[i]]
    if not body:
        return
    for which, kind, value, where in mutations:
        n = body[which % len(body)]
        lines[n] = _mutate(lines[n], kind, value, where)
    content = "\n".join(lines).encode("utf-8")
    if bad_bytes:
        at = body[mutations[0][0] % len(body)]
        lines_b = content.split(b"\n")
        lines_b[at] = lines_b[at] + b"\xff\xfe"
        content = b"\n".join(lines_b)
    path = s.landing_file(name, CUTOVER)
    try:
        path.write_bytes(content)
        try:
            result = ingest_file(s, name, CUTOVER)
        except BrokenFeedFile as exc:
            assert bad_bytes or "header" in str(exc), str(exc)
            assert str(path) in str(exc) and "line " in str(exc)
            return
    finally:
        _restore(s, name, originals[name])
    physical = content.decode("utf-8").split("\n")
    # every non-blank line after the header has one outcome
    expected = sum(1 for text in physical[1:] if text.removesuffix("\r").strip())
    assert result.rows_read == result.rows_accepted + result.rows_quarantined == expected
    def fields(text: str) -> list[str]:
        text = text.removesuffix("\r")
        try:
            return next(csv.reader([text]), [])
        except csv.Error:  # a bare CR the csv module will not read: the text itself is what must match
            return [text]

    for line, _, rule, original in _rows(result.quarantine_path, quarantine=True):
        assert 2 <= line <= len(physical), (line, rule)
        # the line's own text (re-quoted when the reader parsed it: the same fields)
        assert fields(original) == fields(physical[line - 1]), (line, rule)
    # every accepted number is the number written, to the last digit
    contract = feed(name)
    header = fields(physical[0].removeprefix("\ufeff"))
    numeric = [c.name for c in contract.columns if c.type in ("integer", "decimal", "money")]
    rel = duckdb.sql(f"select {', '.join(['_source_line', *numeric])} from read_parquet('{result.raw_path}')")
    seen = set()
    for source_line, *values in rel.fetchall():
        assert source_line not in seen
        seen.add(source_line)
        parsed = fields(physical[source_line - 1])
        assert len(parsed) == len(header), (source_line, physical[source_line - 1])
        written = dict(zip(header, parsed, strict=True))
        for column, value in zip(numeric, values, strict=True):
            assert (value is None and written[column] == "") or Decimal(written[column]) == value, (source_line, column)
    ingest_file(s, name, CUTOVER)


def test_the_sample_home_is_left_as_generated(sample):
    s, baseline, originals = sample
    for name, content in originals.items():
        assert s.landing_file(name, CUTOVER).read_bytes() == content
    shutil.rmtree(s.home / "state" / "tmp", ignore_errors=True)
