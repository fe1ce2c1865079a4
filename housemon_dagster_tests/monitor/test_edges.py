"""Edge cases: nulls, constants, NaN and infinities, tiny and empty windows, one-sided categories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster_tests.monitor.helpers import hourly_frame, one_row, refresh_frame


def _drift(drift: pd.DataFrame, column: str, hour: int, kind: str) -> pd.DataFrame:
    start = pd.Timestamp("2024-05-01", tz="UTC") + pd.Timedelta(hours=hour)
    starts = drift["window"].map(lambda window: window["start"])
    mask = (
        (drift["column_name"] == column)
        & (starts == start)
        & (drift["drift_type"] == kind)
        & drift["slice_key"].isna()
    )
    return drift[mask]


def test_all_null_column(store: DeltaTableStore) -> None:
    frame = hourly_frame({"empty": pd.Series([None] * 4, dtype="float64")}, [0, 0, 1, 1])
    profile, drift = refresh_frame(store, frame)
    row = one_row(profile, "empty", hour=1)
    assert row["num_nulls"] == 2
    assert row["percent_null"] == 100.0
    assert pd.isna(row["avg"])
    assert row["quantiles"] is None
    assert pd.isna(row["percent_distinct"])
    consecutive = _drift(drift, "empty", 1, "CONSECUTIVE").iloc[0]
    assert consecutive["ks_test"] is None
    assert pd.isna(consecutive["wasserstein_distance"])
    assert "empty" not in one_row(profile, ":table", hour=1)["non_null_columns"]


def test_constant_column(store: DeltaTableStore) -> None:
    frame = hourly_frame({"flat": [3.0] * 6}, [0, 0, 0, 1, 1, 1])
    profile, drift = refresh_frame(store, frame)
    row = one_row(profile, "flat", hour=0)
    assert row["stddev"] == 0.0
    assert row["distinct_count"] == 1
    assert row["min"] == row["max"] == row["median"] == 3.0
    consecutive = _drift(drift, "flat", 1, "CONSECUTIVE").iloc[0]
    assert consecutive["ks_test"]["statistic"] == 0.0
    assert consecutive["wasserstein_distance"] == 0.0
    assert consecutive["population_stability_index"] == pytest.approx(0.0, abs=1e-12)


def test_nan_and_infinities(store: DeltaTableStore) -> None:
    values = [np.nan, np.inf, -np.inf, 1.0, 2.0, 0.0, np.nan, 5.0]
    frame = pa.Table.from_pandas(hourly_frame({}, [0, 0, 0, 0, 1, 1, 1, 1]))
    # Arrow keeps NaN apart from null, where pandas conversion would turn NaN into null.
    frame = frame.append_column("wild", pa.array(values, pa.float64()))
    profile, drift = refresh_frame(store, frame)
    row = one_row(profile, "wild", hour=0)
    assert row["num_nan"] == 1
    assert row["num_nulls"] == 0
    assert row["percent_nan"] == 25.0
    assert row["min"] == -np.inf
    assert row["max"] == np.inf
    assert pd.isna(row["avg"])
    assert pd.isna(row["stddev"])
    consecutive = _drift(drift, "wild", 1, "CONSECUTIVE").iloc[0]
    assert consecutive["ks_test"]["statistic"] == pytest.approx(2 / 3)
    assert np.isfinite(consecutive["wasserstein_distance"])


def test_single_row_windows(store: DeltaTableStore) -> None:
    frame = hourly_frame({"x": [1.0, 4.0]}, [0, 1])
    profile, drift = refresh_frame(store, frame)
    row = one_row(profile, "x", hour=1)
    assert row["count"] == 1
    assert pd.isna(row["stddev"])
    assert row["median"] == 4.0
    table = one_row(profile, ":table", hour=1)
    assert pd.isna(table["r2_score"])
    assert table["mean_average_error"] == pytest.approx(2.0)
    consecutive = _drift(drift, "x", 1, "CONSECUTIVE").iloc[0]
    assert consecutive["wasserstein_distance"] == pytest.approx(3.0)
    assert consecutive["count_delta"] == 0.0


def test_empty_window_breaks_consecutive_drift(store: DeltaTableStore) -> None:
    frame = hourly_frame({"x": [1.0, 2.0, 3.0]}, [0, 2, 3])
    profile, drift = refresh_frame(store, frame)
    hours = {window["start"].hour for window in profile["window"].dropna()}
    assert hours == {0, 2, 3}
    assert _drift(drift, "x", 2, "CONSECUTIVE").empty
    assert len(_drift(drift, "x", 3, "CONSECUTIVE")) == 1


def test_first_window_has_no_consecutive_row(store: DeltaTableStore) -> None:
    frame = hourly_frame({"x": [1.0, 2.0]}, [0, 1])
    _, drift = refresh_frame(store, frame)
    assert _drift(drift, "x", 0, "CONSECUTIVE").empty
    assert _drift(drift, ":table", 0, "CONSECUTIVE").empty


def test_categories_seen_on_one_side(store: DeltaTableStore) -> None:
    frame = hourly_frame({"zone": ["A", "A", "B", "C", "C", "D"]}, [0, 0, 0, 1, 1, 1])
    _, drift = refresh_frame(store, frame)
    row = _drift(drift, "zone", 1, "CONSECUTIVE").iloc[0]
    assert row["tv_distance"] == pytest.approx(1.0)
    assert row["js_distance"] == pytest.approx(1.0)
    assert row["chi_squared_test"]["statistic"] == pytest.approx(6.0)
    assert row["l_infinity_distance"] == pytest.approx(2 / 3)


def test_one_distinct_value_in_a_window(store: DeltaTableStore) -> None:
    frame = hourly_frame({"zone": ["A", "A", "A", "B"]}, [0, 0, 1, 1])
    profile, drift = refresh_frame(store, frame)
    row = one_row(profile, "zone", hour=0)
    assert row["distinct_count"] == 1
    assert row["percent_distinct"] == pytest.approx(50.0)
    consecutive = _drift(drift, "zone", 1, "CONSECUTIVE").iloc[0]
    assert consecutive["tv_distance"] == pytest.approx(0.5)


def test_very_large_values(store: DeltaTableStore) -> None:
    values = [1e300, 2e300, 3e300, 1.5e300, 2.5e300, 3.5e300]
    frame = hourly_frame({"huge": values}, [0, 0, 0, 1, 1, 1])
    profile, drift = refresh_frame(store, frame)
    row = one_row(profile, "huge", hour=0)
    assert row["max"] == 3e300
    assert row["median"] == 2e300
    consecutive = _drift(drift, "huge", 1, "CONSECUTIVE").iloc[0]
    assert consecutive["wasserstein_distance"] == pytest.approx(0.5e300)


def test_null_labels_are_profiled_but_skip_quality(store: DeltaTableStore) -> None:
    frame = hourly_frame({}, [0, 0, 0, 1, 1, 1])
    frame.loc[[0, 1], "label"] = None
    profile, drift = refresh_frame(store, frame)
    label = one_row(profile, "label", hour=0)
    assert label["count"] == 3
    assert label["num_nulls"] == 2
    table = one_row(profile, ":table", hour=0)
    expected = abs(frame.loc[2, "label"] - frame.loc[2, "prediction"])
    assert table["mean_average_error"] == pytest.approx(expected)
    assert len(_drift(drift, "label", 1, "CONSECUTIVE")) == 1


def test_rows_without_timestamp_are_left_out(store: DeltaTableStore) -> None:
    frame = hourly_frame({"x": [1.0, 2.0, 3.0]}, [0, 0, 1])
    frame.loc[1, "timestamp"] = pd.NaT
    profile, _ = refresh_frame(store, frame)
    assert one_row(profile, ":table", hour=0)["count"] == 1
