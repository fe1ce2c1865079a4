"""Fixtures for the monitor engine tests: a Delta warehouse and a small monitoring table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.monitor import MonitorConfig

TABLE = "main.monitoring.requests"
BASELINE = "main.monitoring.train"
START = pd.Timestamp("2024-03-01", tz="UTC")


def make_requests(
    rows: int, *, seed: int, first_hour: int = 0, hours: int = 6, first_id: int = 0
) -> pd.DataFrame:
    """Return inference rows spread uniformly over ``hours`` hours after ``first_hour``."""
    rng = np.random.default_rng(seed)
    seconds = rng.integers(first_hour * 3600, (first_hour + hours) * 3600, rows)
    frame = pd.DataFrame(
        {
            "Id": [str(first_id + i) for i in range(rows)],
            "timestamp": START + pd.to_timedelta(seconds, unit="s"),
            "model_name": rng.choice(["model_a", "model_b"], rows),
            "LotArea": rng.lognormal(9, 0.5, rows),
            "OverallQual": rng.integers(1, 11, rows),
            "Neighborhood": rng.choice(["NAmes", "CollgCr", "OldTown", None], rows),
            "prediction": rng.normal(180_000, 40_000, rows),
        }
    )
    frame["sale_price"] = frame["prediction"] + rng.normal(0, 20_000, rows)
    return frame


@pytest.fixture
def store(tmp_path: Path) -> DeltaTableStore:
    return DeltaTableStore(tmp_path / "warehouse")


@pytest.fixture
def config() -> MonitorConfig:
    return MonitorConfig(
        table_name=TABLE,
        output_schema_name="main.monitoring",
        profile_type="InferenceLog",
        problem_type="regression",
        prediction_col="prediction",
        label_col="sale_price",
        timestamp_col="timestamp",
        model_id_col="model_name",
        granularities=("1 hour", "1 day"),
        slicing_exprs=("Neighborhood", "OverallQual > 5"),
        baseline_table=BASELINE,
    )


@pytest.fixture
def filled_store(store: DeltaTableStore) -> DeltaTableStore:
    """A warehouse with 600 requests over 6 hours and a 300-row training set as baseline."""
    requests = make_requests(600, seed=1)
    store.write(TABLE, requests, mode="append")
    train = make_requests(300, seed=2).drop(columns=["timestamp", "model_name", "prediction"])
    store.write(BASELINE, train, mode="append")
    return store
