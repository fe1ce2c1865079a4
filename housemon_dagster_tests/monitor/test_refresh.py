"""End-to-end refreshes on Delta tables: schemas, incremental refresh, baseline, slices."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pyarrow as pa
import pytest

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.monitor import (
    CustomMetric,
    MonitorConfig,
    MonitorNotFoundError,
    create_or_update_monitor,
    get_monitor,
    refresh_monitor,
)
from housemon_dagster.monitor.registry import monitor_path
from housemon_dagster.monitor.schema import drift_schema, profile_schema
from housemon_dagster_tests.monitor.conftest import TABLE, make_requests

PROFILE_COLUMNS = [
    "window",
    "log_type",
    "logging_table_commit_version",
    "monitor_version",
    "granularity",
    "slice_key",
    "slice_value",
    "model_name",
    "column_name",
    "count",
    "data_type",
    "num_nulls",
    "avg",
    "quantiles",
    "min",
    "max",
    "stddev",
    "num_zeros",
    "num_nan",
    "min_length",
    "max_length",
    "avg_length",
    "non_null_columns",
    "frequent_items",
    "median",
    "distinct_count",
    "percent_nan",
    "percent_null",
    "percent_zeros",
    "percent_distinct",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_average_error",
    "mean_absolute_percentage_error",
    "r2_score",
]
DRIFT_COLUMNS = [
    "window",
    "granularity",
    "monitor_version",
    "slice_key",
    "slice_value",
    "model_name",
    "column_name",
    "data_type",
    "window_cmp",
    "drift_type",
    "count_delta",
    "avg_delta",
    "percent_null_delta",
    "percent_zeros_delta",
    "percent_distinct_delta",
    "non_null_columns_delta",
    "js_distance",
    "ks_test",
    "wasserstein_distance",
    "population_stability_index",
    "chi_squared_test",
    "tv_distance",
    "l_infinity_distance",
]


def _canonical(store: DeltaTableStore, name: str) -> pd.DataFrame:
    frame = store.read_pandas(name).drop(columns=["logging_table_commit_version"], errors="ignore")
    frame = frame.astype(str)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _assert_incremental_equals_full(store: DeltaTableStore, config: MonitorConfig) -> None:
    incremental = [_canonical(store, config.profile_table), _canonical(store, config.drift_table)]
    result = refresh_monitor(store, config.table_name, full=True)
    assert result.state == "SUCCESS"
    full = [_canonical(store, config.profile_table), _canonical(store, config.drift_table)]
    pd.testing.assert_frame_equal(incremental[0], full[0])
    pd.testing.assert_frame_equal(incremental[1], full[1])


def test_output_schemas(filled_store: DeltaTableStore, config: MonitorConfig) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    profile = filled_store.read_arrow(config.profile_table).schema
    drift = filled_store.read_arrow(config.drift_table).schema
    assert profile.names == PROFILE_COLUMNS
    assert drift.names == DRIFT_COLUMNS
    assert [f.type for f in profile] == [f.type for f in profile_schema(config)]
    assert [f.type for f in drift] == [f.type for f in drift_schema(config)]


def test_arrow_types_of_nested_columns(config: MonitorConfig) -> None:
    profile = profile_schema(config)
    drift = drift_schema(config)
    timestamp = pa.timestamp("us", tz="UTC")
    assert profile.field("window").type == pa.struct([("start", timestamp), ("end", timestamp)])
    assert profile.field("quantiles").type == pa.list_(pa.float64())
    assert profile.field("frequent_items").type == pa.list_(
        pa.struct([("item", pa.string()), ("count", pa.int64())])
    )
    assert drift.field("ks_test").type == pa.struct(
        [("statistic", pa.float64()), ("pvalue", pa.float64())]
    )
    assert drift.field("non_null_columns_delta").type == pa.struct(
        [("added", pa.int64()), ("missing", pa.int64())]
    )


def test_incremental_refresh_after_append(
    filled_store: DeltaTableStore, config: MonitorConfig
) -> None:
    create_or_update_monitor(filled_store, config)
    assert refresh_monitor(filled_store, TABLE).full
    filled_store.write(
        TABLE, make_requests(100, seed=5, first_hour=6, hours=1, first_id=10_000), mode="append"
    )
    result = refresh_monitor(filled_store, TABLE)
    assert result.state == "SUCCESS"
    assert not result.full
    assert result.table_version == 1
    assert result.windows_recomputed == 2
    _assert_incremental_equals_full(filled_store, config)


def test_incremental_refresh_after_label_update(
    filled_store: DeltaTableStore, config: MonitorConfig
) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    rows = filled_store.read_pandas(TABLE)
    late = rows[rows["timestamp"] < rows["timestamp"].min() + pd.Timedelta(minutes=30)].copy()
    late["sale_price"] = late["sale_price"] * 1.5
    filled_store.merge(TABLE, late, keys=["Id"])
    result = refresh_monitor(filled_store, TABLE)
    assert not result.full
    assert result.windows_recomputed == 2
    _assert_incremental_equals_full(filled_store, config)


def test_refresh_without_changes_does_nothing(
    filled_store: DeltaTableStore, config: MonitorConfig
) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    result = refresh_monitor(filled_store, TABLE)
    assert result.windows_recomputed == 0
    assert result.rows_written == 0


def test_create_is_idempotent(filled_store: DeltaTableStore, config: MonitorConfig) -> None:
    first = create_or_update_monitor(filled_store, config)
    second = create_or_update_monitor(filled_store, config)
    assert first.monitor_version == second.monitor_version == 1


def test_config_change_bumps_version_and_forces_full(
    filled_store: DeltaTableStore, config: MonitorConfig
) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    changed = dataclasses.replace(config, granularities=("30 minutes",))
    assert create_or_update_monitor(filled_store, changed).monitor_version == 2
    result = refresh_monitor(filled_store, TABLE)
    assert result.full
    profile = filled_store.read_pandas(config.profile_table)
    assert set(profile["granularity"]) == {"30 minutes"}
    assert set(profile["monitor_version"]) == {2}


def test_monitor_json_round_trip(filled_store: DeltaTableStore, config: MonitorConfig) -> None:
    create_or_update_monitor(filled_store, config)
    path = monitor_path(filled_store, TABLE)
    assert path.name == "requests.monitor.json"
    stored = json.loads(path.read_text())
    assert MonitorConfig.from_dict(stored["config"]) == config
    assert get_monitor(filled_store, TABLE).config == config


def test_missing_monitor_is_reported(filled_store: DeltaTableStore) -> None:
    assert get_monitor(filled_store, TABLE) is None
    with pytest.raises(MonitorNotFoundError, match=TABLE):
        refresh_monitor(filled_store, TABLE)


def test_baseline_without_prediction_columns(
    filled_store: DeltaTableStore, config: MonitorConfig
) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    profile = filled_store.read_pandas(config.profile_table)
    drift = filled_store.read_pandas(config.drift_table)
    baseline = profile[(profile["log_type"] == "BASELINE") & profile["slice_key"].isna()]
    assert set(baseline["column_name"]) == {
        ":table",
        "Id",
        "LotArea",
        "OverallQual",
        "Neighborhood",
        "sale_price",
    }
    assert baseline["window"].isna().all()
    assert baseline["model_name"].isna().all()
    compared = drift[drift["drift_type"] == "BASELINE"]
    assert "prediction" not in set(compared["column_name"])
    assert set(compared["model_name"]) == {"model_a", "model_b"}
    assert compared["window_cmp"].isna().all()


def test_slices_cover_each_value(filled_store: DeltaTableStore, config: MonitorConfig) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    profile = filled_store.read_pandas(config.profile_table)
    inputs = profile[profile["log_type"] == "INPUT"]
    neighborhoods = set(inputs.loc[inputs["slice_key"] == "Neighborhood", "slice_value"].dropna())
    assert neighborhoods == {"NAmes", "CollgCr", "OldTown"}
    assert set(inputs.loc[inputs["slice_key"] == "OverallQual > 5", "slice_value"]) == {
        "true",
        "false",
    }


def test_slice_counts_add_up(filled_store: DeltaTableStore, config: MonitorConfig) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    profile = filled_store.read_pandas(config.profile_table)
    rows = profile[(profile["log_type"] == "INPUT") & (profile["column_name"] == ":table")]
    day = rows[rows["granularity"] == "1 day"]
    whole = day.loc[day["slice_key"].isna(), "count"].sum()
    assert whole == 600
    assert day.loc[day["slice_key"] == "Neighborhood", "count"].sum() == whole
    assert day.loc[day["slice_key"] == "OverallQual > 5", "count"].sum() == whole


def test_high_cardinality_slice_keeps_top_100(store: DeltaTableStore) -> None:
    frame = make_requests(400, seed=9)
    store.write(TABLE, frame, mode="append")
    config = MonitorConfig(
        table_name=TABLE,
        output_schema_name="main.monitoring",
        prediction_col="prediction",
        label_col="sale_price",
        timestamp_col="timestamp",
        model_id_col="model_name",
        granularities=("1 day",),
        slicing_exprs=("Id",),
    )
    create_or_update_monitor(store, config)
    refresh_monitor(store, TABLE)
    profile = store.read_pandas(config.profile_table)
    assert profile.loc[profile["slice_key"] == "Id", "slice_value"].nunique() == 100


def test_custom_metrics(filled_store: DeltaTableStore, config: MonitorConfig) -> None:
    metrics = (
        CustomMetric("log_avg", "avg(ln({{input_column}}))", ("LotArea",), "double", "aggregate"),
        CustomMetric("over_200k", "avg(CAST(prediction > 200000 AS DOUBLE))", (":table",)),
        CustomMetric("exp_log_avg", "exp(log_avg)", ("LotArea",), "double", "derived"),
        CustomMetric(
            "log_avg_delta",
            "{{current_df}}.log_avg - {{base_df}}.log_avg",
            ("LotArea",),
            "double",
            "drift",
        ),
    )
    config = dataclasses.replace(config, custom_metrics=metrics, slicing_exprs=())
    create_or_update_monitor(filled_store, config)
    assert refresh_monitor(filled_store, TABLE).state == "SUCCESS"
    profile = filled_store.read_pandas(config.profile_table)
    drift = filled_store.read_pandas(config.drift_table)
    area = profile[(profile["column_name"] == "LotArea") & (profile["log_type"] == "INPUT")]
    assert area["log_avg"].notna().all()
    assert (
        area["exp_log_avg"] - area["log_avg"].map(lambda v: 2.718281828459045**v)
    ).abs().max() < 1e-6
    table = profile[(profile["column_name"] == ":table") & (profile["log_type"] == "INPUT")]
    assert table["over_200k"].between(0, 1).all()
    area_drift = drift[drift["column_name"] == "LotArea"]
    assert area_drift["log_avg_delta"].notna().all()


def test_time_series_profile(store: DeltaTableStore) -> None:
    frame = make_requests(200, seed=3).drop(columns=["prediction", "model_name"])
    store.write(TABLE, frame, mode="append")
    config = MonitorConfig(
        table_name=TABLE,
        output_schema_name="main.monitoring",
        profile_type="TimeSeries",
        problem_type=None,
        timestamp_col="timestamp",
        granularities=("1 hour",),
    )
    create_or_update_monitor(store, config)
    assert refresh_monitor(store, TABLE).state == "SUCCESS"
    profile = store.read_arrow(config.profile_table)
    assert "model_name" not in profile.schema.names
    assert "r2_score" not in profile.schema.names
    assert profile.num_rows > 0


def test_snapshot_profile(store: DeltaTableStore) -> None:
    store.write(TABLE, make_requests(50, seed=4), mode="append")
    config = MonitorConfig(
        table_name=TABLE,
        output_schema_name="main.monitoring",
        profile_type="Snapshot",
        problem_type=None,
    )
    create_or_update_monitor(store, config)
    refresh_monitor(store, TABLE)
    refresh_monitor(store, TABLE)
    profile = store.read_pandas(config.profile_table)
    table = profile[profile["column_name"] == ":table"]
    assert len(table) == 2
    assert (table["count"] == 50).all()
    assert (table["window"].map(lambda window: window["start"] == window["end"])).all()


def test_overwrite_forces_full_refresh(
    filled_store: DeltaTableStore, config: MonitorConfig
) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    filled_store.write(TABLE, make_requests(50, seed=8), mode="overwrite")
    result = refresh_monitor(filled_store, TABLE)
    assert result.full
    profile = filled_store.read_pandas(config.profile_table)
    table = profile[(profile["column_name"] == ":table") & (profile["log_type"] == "INPUT")]
    assert (
        table.loc[table["slice_key"].isna() & (table["granularity"] == "1 day"), "count"].sum()
        == 50
    )


def test_incremental_refresh_after_delete(
    filled_store: DeltaTableStore, config: MonitorConfig
) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    filled_store.table(TABLE).delete("OverallQual = 3")
    result = refresh_monitor(filled_store, TABLE)
    assert not result.full
    _assert_incremental_equals_full(filled_store, config)


def test_incremental_refresh_on_date_column(store: DeltaTableStore) -> None:
    frame = make_requests(60, seed=12)
    frame["day"] = frame["timestamp"].dt.date
    store.write(TABLE, frame.drop(columns=["timestamp"]), mode="append")
    config = MonitorConfig(
        table_name=TABLE,
        output_schema_name="main.monitoring",
        profile_type="TimeSeries",
        problem_type=None,
        timestamp_col="day",
        granularities=("1 hour", "1 day"),
    )
    create_or_update_monitor(store, config)
    refresh_monitor(store, TABLE)
    later = make_requests(30, seed=13, first_hour=30, hours=2, first_id=500)
    later["day"] = later["timestamp"].dt.date
    store.write(TABLE, later.drop(columns=["timestamp"]), mode="append")
    result = refresh_monitor(store, TABLE)
    assert not result.full
    assert result.windows_recomputed == 2
    _assert_incremental_equals_full(store, config)


def test_refresh_after_deleting_every_row(
    filled_store: DeltaTableStore, config: MonitorConfig
) -> None:
    create_or_update_monitor(filled_store, config)
    refresh_monitor(filled_store, TABLE)
    filled_store.table(TABLE).delete()
    result = refresh_monitor(filled_store, TABLE)
    assert result.state == "SUCCESS", result.message
    profile = filled_store.read_pandas(config.profile_table)
    assert set(profile["log_type"]) == {"BASELINE"}
    assert filled_store.read_arrow(config.drift_table).num_rows == 0
