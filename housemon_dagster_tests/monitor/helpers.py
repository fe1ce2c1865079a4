"""Shared steps of the monitor tests: write a table, refresh its monitor, read the outputs."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.monitor import MonitorConfig, create_or_update_monitor, refresh_monitor

TABLE = "main.edge.requests"


def simple_config(**overrides: object) -> MonitorConfig:
    values: dict[str, object] = {
        "table_name": TABLE,
        "output_schema_name": "main.edge",
        "prediction_col": "prediction",
        "label_col": "label",
        "timestamp_col": "timestamp",
        "model_id_col": "model",
        "granularities": ("1 hour",),
    }
    values.update(overrides)
    return MonitorConfig(**values)  # type: ignore[arg-type]


def refresh_frame(
    store: DeltaTableStore, frame: pd.DataFrame | pa.Table, config: MonitorConfig | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write ``frame``, refresh a monitor on it and return (profile, drift) as pandas."""
    config = config or simple_config()
    store.write(config.table_name, frame, mode="append")
    create_or_update_monitor(store, config)
    result = refresh_monitor(store, config.table_name)
    assert result.state == "SUCCESS", result.message
    return store.read_pandas(config.profile_table), store.read_pandas(config.drift_table)


def hourly_frame(columns: dict[str, list[object]], hours: list[int]) -> pd.DataFrame:
    """Return a frame with one row per entry of ``hours`` and the given extra columns."""
    start = pd.Timestamp("2024-05-01", tz="UTC")
    frame = pd.DataFrame(
        {
            "timestamp": [start + pd.Timedelta(hours=hour, minutes=1) for hour in hours],
            "model": ["m1"] * len(hours),
            "prediction": [100.0 + i for i in range(len(hours))],
            "label": [101.0 + 2 * i for i in range(len(hours))],
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def one_row(profile: pd.DataFrame, column: str, hour: int = 0, **keys: object) -> pd.Series:
    """Return the INPUT whole-table profile row of ``column`` in the window at ``hour``."""
    start = pd.Timestamp("2024-05-01", tz="UTC") + pd.Timedelta(hours=hour)
    starts = profile["window"].map(lambda window: window and window["start"])
    mask = (
        (profile["column_name"] == column)
        & (profile["log_type"] == "INPUT")
        & (starts == start)
        & profile["slice_key"].isna()
    )
    for name, value in keys.items():
        mask &= profile[name] == value
    rows = profile[mask]
    assert len(rows) == 1, f"expected one row of {column} at hour {hour}, found {len(rows)}"
    return rows.iloc[0]
