"""Vectorised contract text (money from integer cents, ids, booleans) and CSV lines, built with pyarrow."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_CENTS = pa.array([f"{i:02d}" for i in range(100)])
_BOOLEANS = pa.array(["false", "true"])
_NEEDS_QUOTES = r'[,"\r\n]'


def repeat(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def empty(n: int) -> pa.Array:
    return repeat("", n)


def integers(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def money(cents: np.ndarray) -> pa.Array:
    """Exactly two decimals from integer cents (never through a float)."""
    cents = np.asarray(cents, dtype=np.int64)
    if cents.size and cents.min() < 0:
        raise ValueError("money text is only written for amounts >= 0")
    whole = pc.cast(pa.array(cents // 100), pa.string())
    return pc.binary_join_element_wise(whole, _CENTS.take(pa.array(cents % 100)), ".")


def money_one(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def padded(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(integers(numbers), width, "0")
    return pc.binary_join_element_wise(repeat(prefix, len(digits)), digits, "")


def choose(labels: Sequence[str], index: np.ndarray) -> pa.Array:
    return pa.array(list(labels)).take(pa.array(np.asarray(index, dtype=np.int64)))


def booleans(mask: np.ndarray) -> pa.Array:
    return _BOOLEANS.take(pa.array(np.asarray(mask, dtype=np.int64)))


def where(mask: np.ndarray, values: pa.Array, otherwise: str = "") -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), values, pa.scalar(otherwise, pa.string()))


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    n = max(len(p) for p in parts if not isinstance(p, str))
    return pc.binary_join_element_wise(*[repeat(p, n) if isinstance(p, str) else p for p in parts], sep)


def quote(values: pa.Array) -> pa.Array:
    """``"`` quoting only where a field needs it (comma, quote, line break), quotes doubled."""
    needs = pc.match_substring_regex(values, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return values
    quoted = join('"', pc.replace_substring(values, '"', '""'), '"')
    return pc.if_else(needs, quoted, values)


def quote_one(value: str) -> str:
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_lines(columns: Sequence[pa.Array]) -> pa.Array:
    """One ``\\n``-terminated CSV line per row (columns already quoted)."""
    line = pc.binary_join_element_wise(*columns, ",")
    return pc.cast(join(line, "\n"), pa.large_string())


def hex_text(rng: np.random.Generator, n: int, nbytes: int, upper: bool = False) -> pa.Array:
    table = pa.array([f"{i:02X}" if upper else f"{i:02x}" for i in range(256)])
    raw = rng.integers(0, 256, size=(n, nbytes))
    return pc.binary_join_element_wise(*[table.take(pa.array(raw[:, j])) for j in range(nbytes)], "")


def digit_text(rng: np.random.Generator, n: int, ndigits: int) -> pa.Array:
    return pc.utf8_lpad(integers(rng.integers(0, 10**ndigits, size=n)), ndigits, "0")
