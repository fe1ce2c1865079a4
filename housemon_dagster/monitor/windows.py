"""Tumbling time windows aligned in UTC, as Lakehouse Monitoring granularities define them.

Timestamps are handled as int64 microseconds since the Unix epoch in UTC. A naive
timestamp (no time zone) is taken to be UTC already. An aware one is converted to
UTC, so the same instant always lands in the same window.

Fixed-width windows (minutes, hours, days, weeks) are aligned to the Unix epoch,
1970-01-01T00:00Z, as Spark's ``window()`` aligns them: hour and day windows start
on the hour and at midnight UTC, and week windows start on Thursdays, because the
epoch was a Thursday. Month and year windows follow the calendar in UTC and
multi-month windows are aligned to January 1970.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MICROS = {
    "minute": 60_000_000,
    "hour": 3_600_000_000,
    "day": 86_400_000_000,
    "week": 7 * 86_400_000_000,
}
CALENDAR_UNITS = ("month", "year")
_PATTERN = re.compile(r"^\s*(\d+)\s+(minute|hour|day|week|month|year)s?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Granularity:
    """A window length: ``count`` times a ``unit`` (minute, hour, day, week, month, year)."""

    count: int
    unit: str

    @property
    def fixed_micros(self) -> int | None:
        """Return the window length in microseconds, or None for calendar units."""
        if self.unit in CALENDAR_UNITS:
            return None
        return self.count * MICROS[self.unit]


def parse_granularity(text: str) -> Granularity:
    """Parse a granularity such as ``"30 minutes"``, ``"1 day"`` or ``"2 weeks"``."""
    match = _PATTERN.match(text)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(
            f"granularity {text!r} is invalid; use '<N> minutes|hours|days|weeks', "
            "'1 month' or '1 year', for example '30 minutes'"
        )
    return Granularity(int(match.group(1)), match.group(2).lower())


def to_utc_micros(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Return (microseconds since epoch UTC, null mask) of a timestamp or date column."""
    kind = column.type
    if pa.types.is_date(kind):
        column = pc.cast(column, pa.timestamp("us"))
    elif pa.types.is_timestamp(kind):
        column = pc.cast(column, pa.timestamp("us", tz=kind.tz))
    else:
        raise TypeError(f"timestamp column has type {kind}; expected a timestamp or date")
    # Both naive and aware timestamps store UTC instants in their int64 values.
    values = pc.cast(column, pa.int64())
    nulls = np.asarray(pc.is_null(values), dtype=bool)
    micros = np.asarray(pc.fill_null(values, 0), dtype=np.int64)
    return micros, nulls


def window_start(micros: np.ndarray, granularity: Granularity) -> np.ndarray:
    """Return the start (UTC microseconds) of the window containing each timestamp."""
    width = granularity.fixed_micros
    if width is not None:
        return np.floor_divide(micros, width) * width
    unit = "M" if granularity.unit == "month" else "Y"
    periods = micros.astype("datetime64[us]").astype(f"datetime64[{unit}]").astype(np.int64)
    periods = np.floor_divide(periods, granularity.count) * granularity.count
    return _periods_to_micros(periods, unit)


def shift_window(start: np.ndarray, granularity: Granularity, steps: int) -> np.ndarray:
    """Return window starts moved by ``steps`` windows (negative moves back in time)."""
    width = granularity.fixed_micros
    if width is not None:
        return start + steps * width
    unit = "M" if granularity.unit == "month" else "Y"
    periods = start.astype("datetime64[us]").astype(f"datetime64[{unit}]").astype(np.int64)
    return _periods_to_micros(periods + steps * granularity.count, unit)


def window_end(start: np.ndarray, granularity: Granularity) -> np.ndarray:
    """Return the exclusive end of the windows starting at ``start``."""
    return shift_window(start, granularity, 1)


def _periods_to_micros(periods: np.ndarray, unit: str) -> np.ndarray:
    dates = periods.astype(f"datetime64[{unit}]")
    return dates.astype("datetime64[us]").astype(np.int64)
