"""Profile metrics of a refreshed monitor against numpy, pandas and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster_tests.monitor.helpers import hourly_frame, one_row, refresh_frame


@pytest.fixture
def profiled(store: DeltaTableStore) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    rows = 400
    frame = hourly_frame(
        {
            "area": rng.normal(1500, 300, rows).round(1),
            "rooms": rng.integers(0, 6, rows),
            "zone": rng.choice(["RL", "RM", "FV", None], rows),
        },
        hours=sorted(rng.integers(0, 4, rows).tolist()),
    )
    frame["label"] = frame["prediction"] + rng.normal(0, 3, rows)
    frame.loc[frame.index[::7], "area"] = None
    profile, _ = refresh_frame(store, frame)
    return frame, profile


def _hour(frame: pd.DataFrame, hour: int) -> pd.DataFrame:
    start = pd.Timestamp("2024-05-01", tz="UTC") + pd.Timedelta(hours=hour)
    return frame[
        (frame["timestamp"] >= start) & (frame["timestamp"] < start + pd.Timedelta(hours=1))
    ]


def test_numeric_metrics_match_pandas(profiled: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    frame, profile = profiled
    window = _hour(frame, 1)["area"]
    row = one_row(profile, "area", hour=1)
    assert row["count"] == len(window)
    assert row["num_nulls"] == window.isna().sum()
    assert row["avg"] == pytest.approx(window.mean())
    assert row["stddev"] == pytest.approx(window.std(ddof=1))
    assert row["min"] == window.min()
    assert row["max"] == window.max()
    assert row["median"] == pytest.approx(window.median())
    assert row["distinct_count"] == window.nunique()
    assert row["percent_null"] == pytest.approx(100 * window.isna().mean())
    assert row["percent_distinct"] == pytest.approx(100 * window.nunique() / window.notna().sum())


def test_quantiles_have_1001_points(profiled: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    frame, profile = profiled
    window = _hour(frame, 2)["area"].dropna().to_numpy()
    quantiles = np.array(one_row(profile, "area", hour=2)["quantiles"])
    assert quantiles.size == 1001
    np.testing.assert_allclose(quantiles, np.quantile(window, np.linspace(0, 1, 1001)))


def test_zeros_are_counted(profiled: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    frame, profile = profiled
    window = _hour(frame, 0)["rooms"]
    row = one_row(profile, "rooms", hour=0)
    assert row["num_zeros"] == (window == 0).sum()
    assert row["percent_zeros"] == pytest.approx(100 * (window == 0).mean())
    assert row["data_type"] == "bigint"


def test_categorical_metrics_match_pandas(profiled: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    frame, profile = profiled
    window = _hour(frame, 3)["zone"]
    row = one_row(profile, "zone", hour=3)
    counts = window.value_counts()
    items = {item["item"]: item["count"] for item in row["frequent_items"]}
    assert items == counts.to_dict()
    assert row["num_nulls"] == window.isna().sum()
    assert row["distinct_count"] == window.nunique()
    assert row["min_length"] == window.dropna().str.len().min()
    assert row["max_length"] == window.dropna().str.len().max()
    assert row["avg_length"] == pytest.approx(window.dropna().str.len().mean())
    assert pd.isna(row["avg"])


def test_regression_metrics_match_sklearn(profiled: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    frame, profile = profiled
    window = _hour(frame, 1)
    row = one_row(profile, ":table", hour=1)
    y, p = window["label"], window["prediction"]
    assert row["mean_squared_error"] == pytest.approx(skm.mean_squared_error(y, p))
    assert row["root_mean_squared_error"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert row["mean_average_error"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert row["mean_absolute_percentage_error"] == pytest.approx(
        skm.mean_absolute_percentage_error(y, p)
    )
    assert row["r2_score"] == pytest.approx(skm.r2_score(y, p))


def test_table_row_counts_rows(profiled: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    frame, profile = profiled
    row = one_row(profile, ":table", hour=0, model="m1")
    assert row["count"] == len(_hour(frame, 0))
    assert sorted(row["non_null_columns"]) == sorted(frame.columns)


def test_timestamp_metrics_are_epoch_seconds(
    profiled: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    frame, profile = profiled
    window = _hour(frame, 2)["timestamp"]
    row = one_row(profile, "timestamp", hour=2)
    seconds = window.astype("int64") / 1e9
    assert row["min"] == pytest.approx(seconds.min())
    assert row["max"] == pytest.approx(seconds.max())
    assert row["median"] == pytest.approx(seconds.median())
    assert pd.isna(row["avg"])
    assert row["data_type"] == "timestamp"


def test_window_struct_spans_one_hour(profiled: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, profile = profiled
    window = one_row(profile, ":table", hour=2)["window"]
    assert window["end"] - window["start"] == pd.Timedelta(hours=1)
