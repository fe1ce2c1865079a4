"""Window alignment in UTC for every granularity, with naive and aware timestamps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from housemon_dagster.monitor.windows import (
    parse_granularity,
    shift_window,
    to_utc_micros,
    window_end,
    window_start,
)

UTC = dt.UTC
INSTANT = dt.datetime(2024, 2, 29, 13, 47, 31, 123456, tzinfo=UTC)

CASES = [
    (
        "1 minute",
        dt.datetime(2024, 2, 29, 13, 47, tzinfo=UTC),
        dt.datetime(2024, 2, 29, 13, 48, tzinfo=UTC),
    ),
    (
        "5 minutes",
        dt.datetime(2024, 2, 29, 13, 45, tzinfo=UTC),
        dt.datetime(2024, 2, 29, 13, 50, tzinfo=UTC),
    ),
    (
        "30 minutes",
        dt.datetime(2024, 2, 29, 13, 30, tzinfo=UTC),
        dt.datetime(2024, 2, 29, 14, 0, tzinfo=UTC),
    ),
    ("1 hour", dt.datetime(2024, 2, 29, 13, tzinfo=UTC), dt.datetime(2024, 2, 29, 14, tzinfo=UTC)),
    ("1 day", dt.datetime(2024, 2, 29, tzinfo=UTC), dt.datetime(2024, 3, 1, tzinfo=UTC)),
    # Week windows are aligned to the Unix epoch, a Thursday.
    ("1 week", dt.datetime(2024, 2, 29, tzinfo=UTC), dt.datetime(2024, 3, 7, tzinfo=UTC)),
    ("2 weeks", dt.datetime(2024, 2, 29, tzinfo=UTC), dt.datetime(2024, 3, 14, tzinfo=UTC)),
    ("3 weeks", dt.datetime(2024, 2, 29, tzinfo=UTC), dt.datetime(2024, 3, 21, tzinfo=UTC)),
    ("4 weeks", dt.datetime(2024, 2, 15, tzinfo=UTC), dt.datetime(2024, 3, 14, tzinfo=UTC)),
    ("1 month", dt.datetime(2024, 2, 1, tzinfo=UTC), dt.datetime(2024, 3, 1, tzinfo=UTC)),
    ("1 year", dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2025, 1, 1, tzinfo=UTC)),
]


def _micros(value: dt.datetime) -> int:
    return int(value.timestamp()) * 1_000_000 + value.microsecond


@pytest.mark.parametrize(("text", "start", "end"), CASES)
def test_window_bounds(text: str, start: dt.datetime, end: dt.datetime) -> None:
    granularity = parse_granularity(text)
    found = window_start(np.array([_micros(INSTANT)]), granularity)
    assert found[0] == _micros(start)
    assert window_end(found, granularity)[0] == _micros(end)


@pytest.mark.parametrize(("text", "start", "end"), CASES)
def test_window_start_is_its_own_window(text: str, start: dt.datetime, end: dt.datetime) -> None:
    granularity = parse_granularity(text)
    starts = np.array([_micros(start), _micros(end) - 1])
    assert window_start(starts, granularity).tolist() == [_micros(start)] * 2


@pytest.mark.parametrize(("text", "start", "end"), CASES)
def test_shift_back_one_window(text: str, start: dt.datetime, end: dt.datetime) -> None:
    granularity = parse_granularity(text)
    previous = shift_window(np.array([_micros(start)]), granularity, -1)
    assert window_end(previous, granularity)[0] == _micros(start)


def test_month_windows_follow_the_calendar() -> None:
    granularity = parse_granularity("1 month")
    january = _micros(dt.datetime(2023, 1, 31, 23, 59, tzinfo=UTC))
    march = _micros(dt.datetime(2023, 3, 1, tzinfo=UTC))
    starts = window_start(np.array([january, march]), granularity)
    assert starts[0] == _micros(dt.datetime(2023, 1, 1, tzinfo=UTC))
    assert window_end(starts, granularity)[0] == _micros(dt.datetime(2023, 2, 1, tzinfo=UTC))
    assert starts[1] == march


def test_times_before_the_epoch_align_downwards() -> None:
    granularity = parse_granularity("1 day")
    before = _micros(dt.datetime(1969, 12, 31, 6, tzinfo=UTC))
    start = window_start(np.array([before]), granularity)[0]
    assert start == _micros(dt.datetime(1969, 12, 31, tzinfo=UTC))


def test_aware_timestamps_convert_to_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    local = dt.datetime(2024, 3, 1, 0, 30, tzinfo=paris)
    column = pa.array([local], pa.timestamp("us", tz="Europe/Paris"))
    micros, nulls = to_utc_micros(column)
    assert micros[0] == _micros(local.astimezone(UTC))
    assert not nulls[0]
    day = window_start(micros, parse_granularity("1 day"))[0]
    assert day == _micros(dt.datetime(2024, 2, 29, tzinfo=UTC))


def test_naive_timestamps_are_utc() -> None:
    column = pa.array([dt.datetime(2024, 3, 1, 0, 30)], pa.timestamp("ns"))
    micros, _ = to_utc_micros(column)
    assert micros[0] == _micros(dt.datetime(2024, 3, 1, 0, 30, tzinfo=UTC))


def test_null_timestamps_are_flagged() -> None:
    _, nulls = to_utc_micros(pa.array([None, dt.datetime(2024, 1, 1)], pa.timestamp("us")))
    assert nulls.tolist() == [True, False]


def test_dates_are_midnight_utc() -> None:
    micros, _ = to_utc_micros(pa.array([dt.date(2024, 3, 1)]))
    assert micros[0] == _micros(dt.datetime(2024, 3, 1, tzinfo=UTC))


@pytest.mark.parametrize("text", ["", "minutes", "0 hours", "1 fortnight", "-1 day"])
def test_invalid_granularity_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="granularity"):
        parse_granularity(text)


@pytest.mark.parametrize("text", ["1 HOUR", "2 days", " 30 minutes ", "1 weeks"])
def test_granularity_spellings(text: str) -> None:
    assert parse_granularity(text).count >= 1
