"""Days as integers, calendar-month arithmetic, and contract text for dates and local timestamps."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EPOCH = date(1970, 1, 1)
SECONDS_PER_DAY = 86_400


def day_number(value: date) -> int:
    """Days since 1970-01-01 (numpy's ``datetime64[D]`` as an integer)."""
    return (value - EPOCH).days


def from_day(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``days + months`` calendar months, clamped to the target month's last day (31 Jan + 1 = 29 Feb)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first = target.astype("datetime64[D]")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
    return first.astype(np.int64) + np.minimum(day_of_month, length - 1)


def _offset_text(moment: datetime) -> str:
    minutes = int(moment.utcoffset().total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class Clock:
    """Formats days and local times of day in the business time zone as contract text.

    Every generated local time lies between 06:00 and 22:00, so the UTC offset of a day is the
    offset at noon: no generated time falls into a DST gap or fold (those happen at night).
    """

    def __init__(self, timezone: str, first_day: int, last_day: int) -> None:
        self.timezone = timezone
        self.base = first_day
        days = np.arange(first_day, last_day + 1, dtype=np.int64)
        self.date_text = pa.array(np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist())
        zone = ZoneInfo(timezone)
        self.offset_text = pa.array([_offset_text(datetime.combine(from_day(n), time(12), tzinfo=zone)) for n in days])
        self.hms_text = pa.array([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(SECONDS_PER_DAY)])

    def _index(self, days: np.ndarray) -> pa.Array:
        idx = np.asarray(days, dtype=np.int64) - self.base
        if idx.size and (idx.min() < 0 or idx.max() >= len(self.date_text)):
            raise ValueError("day outside the generator's calendar")
        return pa.array(idx)

    def dates(self, days: np.ndarray) -> pa.Array:
        return self.date_text.take(self._index(days))

    def timestamps(self, days: np.ndarray, seconds: np.ndarray) -> pa.Array:
        idx = self._index(days)
        return pc.binary_join_element_wise(
            self.date_text.take(idx),
            self.hms_text.take(pa.array(np.asarray(seconds, dtype=np.int64))),
            self.offset_text.take(idx),
            "",
        )

    def date(self, day: int) -> str:
        return self.date_text[int(day) - self.base].as_py()

    def timestamp(self, day: int, clock_text: str) -> str:
        """One timestamp: ``clock_text`` is ``HH:MM:SS``."""
        return f"{self.date(day)}T{clock_text}{self.offset_text[int(day) - self.base].as_py()}"
