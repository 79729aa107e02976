"""Split a landing file into CSV records, each with the physical line it starts on.

DuckDB's CSV reader types the values; this pass settles what a *record* is before it looks, so that a
sender's dialect can neither lose nor shift rows:

* lines end with LF or CRLF, in any mix (a Windows-made file reads like any other); a BOM is dropped;
* a record is one line: a quote left open on a line is ``malformed_line`` for **that line alone**, and
  the next line is a record of its own, so one stray quote never swallows the rest of the file (a value
  with a line break inside quotes is refused line by line: no value may hold one, see below);
* a record must have exactly the header's number of fields (an unquoted comma before an empty last
  field is ``too_many_columns``, not a shifted row);
* a value may not hold a control character (U+0000–U+001F, U+007F: NUL, tab, a lone CR): every value
  ends up in a single-line file for a shipper, a printer or a lettershop;
* blank lines are not records.

Every record that passes is written, one per line, to a normalised file (LF, no BOM) for the reader;
every other one is a :class:`Refused` with its physical line, column, rule and original text. Line
numbers are physical: the first data line of a file is line 2, whatever came before it.
"""

from __future__ import annotations

import csv
import itertools
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Refused:
    line: int
    column_name: str
    rule: str
    message: str
    original_text: str
    other_failures: str | None = None


@dataclass
class Records:
    """The outcome of the pass: ``lines[k]`` is the physical line of the k-th record written (0-based)."""

    header: list[str]
    lines: array = field(default_factory=lambda: array("q"))
    refused: list[Refused] = field(default_factory=list)


def _char_name(ch: str) -> str:
    names = {"\x00": "NUL", "\t": "tab", "\n": "line feed", "\r": "carriage return", "\x7f": "DEL"}
    return f"U+{ord(ch):04X}" + (f" ({names[ch]})" if ch in names else "")


def _open_quote_field(text: str) -> int:
    """Index of the field whose opening quote is never closed on this line (or of the last field)."""
    index, quoted, opened = 0, False, 0
    for ch in text:
        if ch == '"':
            quoted = not quoted  # a doubled quote inside a value toggles twice
            if quoted:
                opened = index
        elif ch == "," and not quoted:
            index += 1
    return opened if quoted else index


def _fields(text: str) -> list[str] | None:
    """The record's fields, or None when its quoting is not CSV (a quote closed and then followed by text)."""
    try:
        return next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration):
        return None


BLANK = re.compile(r"[ \t\n\v\f\r]*")
#: bytes read at once; a block ends on a line end, so a block holds whole lines
BLOCK_BYTES = 1 << 24


def _blocks(path: Path) -> Iterator[list[str]]:
    """The file's lines in blocks (split on LF only: a lone CR stays inside its line), without LF or CRLF."""
    with path.open("rb") as fh:
        first = True
        while data := fh.read(BLOCK_BYTES):
            if not data.endswith(b"\n"):
                data += fh.readline()
            text = data.decode("utf-8")
            if first:
                text, first = text.removeprefix("\ufeff"), False
            lines = text.split("\n")
            if lines[-1] == "":
                lines.pop()  # the line end of the block's last line
            yield [line[:-1] if line.endswith("\r") else line for line in lines]


def _judge(text: str, number: int, header: list[str], result: Records) -> bool:
    """One line that the fast path could not accept: True when it is a good record, else it is refused."""
    width = len(header)
    quotes = text.count('"')
    if quotes == 0:
        fields: list[str] | None = text.split(",")
    else:
        fields = _fields(text) if quotes % 2 == 0 else None
    if fields is None:
        column = _open_quote_field(text)
        name = header[column] if column < width else ""
        how = ("is not closed on it (a value may not span lines)" if quotes % 2
               else "is closed and then followed by more text")
        result.refused.append(Refused(number, name, "malformed_line", f"a quoted value on this line {how}", text))
        return False
    failures: list[tuple[str, str, str]] = []
    if len(fields) < width:
        failures.append(("missing_columns", header[len(fields)],
                         f"the line has {len(fields)} fields; the header has {width}"))
    elif len(fields) > width:
        failures.append(("too_many_columns", "",
                         f"the line has {len(fields)} fields; the header has {width} (an unquoted comma in a value?)"))
    for name, value in zip(header + [""] * (len(fields) - width), fields, strict=False):
        found = CONTROL.search(value)
        if found:
            failures.append(("control_character", name,
                             f"the value holds the control character {_char_name(found.group())}"))
            break
    if failures:
        rule, column, message = failures[0]
        others = "; ".join(f"{r}:{c}" for r, c, _ in failures[1:]) or None
        result.refused.append(Refused(number, column, rule, message, text, others))
        return False
    return True


def split_records(path: Path, out: Path) -> Records:
    """Read ``path`` (already known to be UTF-8 with a valid header) and write its good records to ``out``.

    Streams the file in blocks: every non-blank physical line has exactly one outcome. Lines with no quote,
    the header's number of commas and no control character (nearly all of them) are accepted in bulk by
    Arrow's string kernels; only the others are looked at one by one."""
    blocks = _blocks(path)
    first = next(blocks, [])
    header = next(csv.reader([first[0]])) if first else []
    result = Records(header)
    commas = len(header) - 1
    number = 1  # the physical line of the next line to judge
    with out.open("w", encoding="utf-8", newline="\n") as dst:
        if first:
            dst.write(first[0] + "\n")
        for block in itertools.chain([first[1:]], blocks):
            if not block:
                continue
            arr = pa.array(block, pa.string())
            plain = pc.and_(pc.equal(pc.count_substring(arr, '"'), 0), pc.equal(pc.count_substring(arr, ","), commas))
            clean = pc.invert(pc.or_(pc.match_substring_regex(arr, CONTROL.pattern),
                                     pc.match_substring_regex(arr, "^" + BLANK.pattern + "$")))
            keep = pc.and_(plain, clean).to_pylist()
            for i in (i for i, ok in enumerate(keep) if not ok):
                text = block[i]
                if BLANK.fullmatch(text):
                    continue
                keep[i] = _judge(text, number + 1 + i, header, result)
            mask = pa.array(keep, pa.bool_())
            kept = pc.filter(arr, mask).to_pylist()
            if kept:
                dst.write("\n".join(kept) + "\n")
            result.lines.extend(number + 1 + i for i, ok in enumerate(keep) if ok)
            number += len(block)
    result.refused.sort(key=lambda r: r.line)
    return result
