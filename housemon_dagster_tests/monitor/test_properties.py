"""Property-based checks over random tables: bounds, totals, and incremental equals full."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.monitor import create_or_update_monitor, refresh_monitor
from housemon_dagster_tests.monitor.helpers import simple_config

START = pd.Timestamp("2024-05-01", tz="UTC")
PERCENT_COLUMNS = ["percent_nan", "percent_null", "percent_zeros", "percent_distinct"]
SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 1.0, -1.0]),
)
rows = st.lists(
    st.tuples(
        st.integers(0, 4 * 3600 - 1),
        numbers,
        st.sampled_from(["a", "b", "c", None]),
        st.sampled_from(["m1", "m2"]),
        st.floats(-1e6, 1e6),
        st.one_of(st.none(), st.floats(-1e6, 1e6)),
    ),
    min_size=1,
    max_size=40,
)


def _frame(records: list[tuple], first_id: int = 0) -> pd.DataFrame:
    seconds, values, zones, models, predictions, labels = zip(*records)
    return pd.DataFrame(
        {
            "Id": [str(first_id + i) for i in range(len(records))],
            "timestamp": [START + pd.Timedelta(seconds=s) for s in seconds],
            "model": list(models),
            "x": pd.array(values, dtype="Float64"),
            "zone": list(zones),
            "prediction": list(predictions),
            "label": pd.array(labels, dtype="Float64"),
        }
    )


def _canonical(store: DeltaTableStore, name: str) -> pd.DataFrame:
    frame = store.read_pandas(name).drop(columns=["logging_table_commit_version"], errors="ignore")
    frame = frame.astype(str)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@SETTINGS
@given(records=rows)
def test_percentages_stay_in_range(records: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = DeltaTableStore(Path(folder))
        config = simple_config(slicing_exprs=("zone",))
        store.write(config.table_name, _frame(records), mode="append")
        create_or_update_monitor(store, config)
        assert refresh_monitor(store, config.table_name).state == "SUCCESS"
        profile = store.read_pandas(config.profile_table)
    for column in PERCENT_COLUMNS:
        values = profile[column].dropna()
        assert values.between(0, 100).all(), column


@SETTINGS
@given(records=rows)
def test_counts_add_up(records: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = DeltaTableStore(Path(folder))
        config = simple_config(slicing_exprs=("zone",), model_id_col="model")
        store.write(config.table_name, _frame(records), mode="append")
        create_or_update_monitor(store, config)
        refresh_monitor(store, config.table_name)
        profile = store.read_pandas(config.profile_table)
    table_rows = profile[profile["column_name"] == ":table"]
    whole = table_rows[table_rows["slice_key"].isna()]
    by_zone = table_rows[table_rows["slice_key"] == "zone"]
    assert whole["count"].sum() == len(records)
    assert by_zone["count"].sum() == len(records)
    columns = profile[profile["column_name"] != ":table"]
    assert (columns["num_nulls"] <= columns["count"]).all()
    numeric = columns[columns["column_name"] == "x"]
    assert (numeric["num_nulls"] + numeric["num_nan"] <= numeric["count"]).all()


@SETTINGS
@given(first=rows, second=rows, relabel=st.floats(0.5, 2.0))
def test_incremental_equals_full(first: list[tuple], second: list[tuple], relabel: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = DeltaTableStore(Path(folder))
        config = simple_config(slicing_exprs=("zone",), granularities=("1 hour", "1 day"))
        # Every zone appears in the first write, so the top slice values stay the same
        # and the second refresh is incremental.
        seeds = [(0, 1.0, zone, "m1", 1.0, 1.0) for zone in ("a", "b", "c", None)]
        initial = _frame(seeds + first)
        store.write(config.table_name, initial, mode="append")
        create_or_update_monitor(store, config)
        refresh_monitor(store, config.table_name)
        store.write(config.table_name, _frame(second, first_id=1000), mode="append")
        assert not refresh_monitor(store, config.table_name).full
        update = initial.iloc[:3].copy()
        update["label"] = update["prediction"] * relabel
        store.merge(config.table_name, update, keys=["Id"])
        refresh_monitor(store, config.table_name)
        incremental = [
            _canonical(store, config.profile_table),
            _canonical(store, config.drift_table),
        ]
        refresh_monitor(store, config.table_name, full=True)
        full = [_canonical(store, config.profile_table), _canonical(store, config.drift_table)]
    # Floating-point sums may differ in the last bit between the two orders of work.
    pd.testing.assert_frame_equal(incremental[0], full[0], check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(incremental[1], full[1], check_exact=False, rtol=1e-12)


def test_random_quantiles_are_sorted() -> None:
    rng = np.random.default_rng(21)
    with tempfile.TemporaryDirectory() as folder:
        store = DeltaTableStore(Path(folder))
        config = simple_config()
        records = [
            (int(rng.integers(0, 7200)), float(rng.normal()), "a", "m1", 1.0, 2.0)
            for _ in range(200)
        ]
        store.write(config.table_name, _frame(records), mode="append")
        create_or_update_monitor(store, config)
        refresh_monitor(store, config.table_name)
        profile = store.read_pandas(config.profile_table)
    quantiles = profile.loc[profile["column_name"] == "x", "quantiles"]
    for points in quantiles:
        assert np.all(np.diff(points) >= 0)
