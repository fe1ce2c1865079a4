"""Fixtures shared by every test package: real data, Delta stores, one local Spark session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from housemon_dagster.core.preprocessing import clean, split
from housemon_dagster.core.source import load_source
from housemon_dagster.local.delta_store import DeltaTableStore

REPO_ROOT = Path(__file__).resolve().parents[1]
# The Kaggle competition's train.csv, for tests against the original input; tests that
# need it are skipped when it is absent.
KAGGLE_CSV = Path(
    os.environ.get(
        "HOUSEMON_KAGGLE_CSV",
        REPO_ROOT.parent / "shared" / "data" / "kaggle_house_prices_train.csv",
    )
)


@pytest.fixture(scope="session")
def ames() -> pd.DataFrame:
    """The bundled Ames data, validated and cleaned."""
    frame, _ = load_source(None)
    return clean(frame)


@pytest.fixture(scope="session")
def ames_split(ames: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return split(ames)


@pytest.fixture
def store(tmp_path: Path) -> DeltaTableStore:
    return DeltaTableStore(tmp_path / "warehouse")


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run."""
    from housemon_dagster.local.spark import LOCAL_SPARK_CONFIG

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in LOCAL_SPARK_CONFIG.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
