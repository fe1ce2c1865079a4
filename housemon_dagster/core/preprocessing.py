"""Cleaning and splitting the source data into the training and test sets."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from sklearn.model_selection import train_test_split

from housemon_dagster.core.schema import (
    CATEGORICAL_FEATURES,
    FRACTIONAL_FEATURES,
    ID_COLUMN,
    NUMERIC_FEATURES,
    TARGET_COLUMN,
    TIMESTAMP_COLUMN,
)

TEST_SIZE = 0.2
RANDOM_STATE = 42


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill gaps the way the model expects and fix the column types.

    LotFrontage gets its mean, MasVnrArea 0 and MasVnrType "None". Other missing
    numbers mean "none of it" in this data (no garage, no basement) and become 0.
    Missing categories become the text "NA", the value Spark keeps when it reads
    the Kaggle CSV.
    """
    frame = frame.copy()
    frame["LotFrontage"] = frame["LotFrontage"].fillna(frame["LotFrontage"].mean())
    frame["MasVnrArea"] = frame["MasVnrArea"].fillna(0.0)
    frame["MasVnrType"] = frame["MasVnrType"].fillna("None")
    for column in NUMERIC_FEATURES:
        values = frame[column].fillna(0.0)
        if column in FRACTIONAL_FEATURES:
            frame[column] = values.astype("float64")
        else:
            frame[column] = values.round().astype("int32")
    for column in CATEGORICAL_FEATURES:
        frame[column] = frame[column].fillna("NA").astype(str)
    frame[ID_COLUMN] = frame[ID_COLUMN].astype(str)
    frame[TARGET_COLUMN] = frame[TARGET_COLUMN].astype("float64")
    return frame


def split(
    frame: pd.DataFrame, *, now: datetime | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split 80/20 with a fixed seed and stamp both parts with the UTC write time."""
    train, test = train_test_split(frame, test_size=TEST_SIZE, random_state=RANDOM_STATE)
    stamp = pd.Timestamp(now or datetime.now(timezone.utc))
    train = train.reset_index(drop=True).assign(**{TIMESTAMP_COLUMN: stamp})
    test = test.reset_index(drop=True).assign(**{TIMESTAMP_COLUMN: stamp})
    return train, test
