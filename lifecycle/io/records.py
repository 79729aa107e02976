"""Split a landing file into CSV records, each with the physical line it starts on.

DuckDB's CSV reader types the values; this pass settles what a *record* is before it looks, so that a
sender's dialect can neither lose nor shift rows:

* lines end with LF or CRLF, in any mix (a Windows-made file reads like any other); a BOM is dropped;
* a quoted value may run over several lines; a quote left open is ``malformed_line`` for **its line
  alone** (the following lines are read again as records of their own), so one stray quote never
  swallows the rest of the file;
* a record must have exactly the header's number of fields (an unquoted comma before an empty last
  field is ``too_many_columns``, not a shifted row);
* a value may not hold a control character (U+0000–U+001F, U+007F: NUL, tab, CR, a line break inside
  quotes): every value ends up in a single-line file for a shipper, a printer or a lettershop;
* blank lines are not records.

Every record that passes is written, one per line, to a normalised file (LF, no BOM) for the reader;
every other one is a :class:`Refused` with its physical line, column, rule and original text. Line
numbers are physical: the first data line of a file is line 2, whatever came before it.
"""

from __future__ import annotations

import csv
import re
from array import array
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: A quoted value may span at most this many lines; past that, the quote that opened it is left open.
MAX_RECORD_LINES = 100
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
    """Index of the field whose opening quote is never closed on this line."""
    index, quoted, at_start, opened = 0, False, True, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"':
                if i + 1 < len(text) and text[i + 1] == '"':
                    i += 1
                else:
                    quoted = False
        elif ch == ",":
            index, at_start = index + 1, True
            i += 1
            continue
        elif ch == '"':
            quoted, opened = True, index
        at_start = False
        i += 1
    return opened if quoted else index


def _fields(text: str) -> list[str] | None:
    """The record's fields, or None when its quoting is not CSV (a quote closed and then followed by text)."""
    try:
        return next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration):
        return None


def _physical_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text without its LF or CRLF), split on LF only: a lone CR stays inside its line."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.decode("utf-8")
            if number == 1:
                text = text.removeprefix("\ufeff")
            yield number, text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def split_records(path: Path, out: Path) -> Records:
    """Read ``path`` (already known to be UTF-8 with a valid header) and write its good records to ``out``.

    Streams the file: at most :data:`MAX_RECORD_LINES` lines are held at once."""
    source = _physical_lines(path)
    first = next(source, None)
    header = next(csv.reader([first[1]])) if first else []
    width = len(header)
    result = Records(header)
    ahead: deque[tuple[int, str]] = deque()  # lines read past a quote left open, to be read again

    def take() -> tuple[int, str] | None:
        return ahead.popleft() if ahead else next(source, None)

    with out.open("w", encoding="utf-8", newline="\n") as dst:
        dst.write(first[1] + "\n" if first else "")
        while (item := take()) is not None:
            start, text = item
            if not text.strip():
                continue
            group = [item]
            quotes = text.count('"')
            while quotes % 2 and len(group) < MAX_RECORD_LINES and (more := take()) is not None:
                group.append(more)
                quotes += more[1].count('"')
            record = "\n".join(t for _, t in group)
            if quotes == 0:
                fields: list[str] | None = record.split(",")
            else:
                fields = _fields(record) if quotes % 2 == 0 else None
            if fields is None:
                # the quote opened on this line is never closed: the line alone is refused, the next is a record
                column = _open_quote_field(text)
                name = header[column] if column < width else ""
                how = "never closed" if quotes % 2 else "closed and then followed by more text"
                result.refused.append(Refused(
                    start, name, "malformed_line",
                    f"a quoted value that starts on this line is {how}; only this line is refused", text))
                ahead.extendleft(reversed(group[1:]))
                continue
            failures: list[tuple[str, str, str]] = []
            if len(fields) < width:
                failures.append(("missing_columns", header[len(fields)],
                                 f"the line has {len(fields)} fields; the header has {width}"))
            elif len(fields) > width:
                failures.append(("too_many_columns", "",
                                 f"the line has {len(fields)} fields; the header has {width} "
                                 "(an unquoted comma in a value?)"))
            for name, value in zip(header + [""] * (len(fields) - width), fields):
                found = CONTROL.search(value)
                if found:
                    failures.append(("control_character", name,
                                     f"the value holds the control character {_char_name(found.group())}"))
                    break
            if failures:
                rule, column, message = failures[0]
                others = "; ".join(f"{r}:{c}" for r, c, _ in failures[1:]) or None
                result.refused.append(Refused(start, column, rule, message, record, others))
                continue
            dst.write(record + "\n")
            result.lines.append(start)
    return result
