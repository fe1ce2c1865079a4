"""The house-price model: feature lookup by Id, the house_age function, gradient boosting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from housemon_dagster.core.schema import (
    CATEGORICAL_FEATURES,
    FRACTIONAL_FEATURES,
    ID_COLUMN,
    LOOKUP_FEATURES,
    NUMERIC_FEATURES,
    REQUEST_FEATURES,
    TARGET_COLUMN,
)

HOUSE_AGE = "house_age"


def request_column_types() -> dict[str, str]:
    """Return the type of each column a scoring request carries: string, double or long."""
    types = {ID_COLUMN: "string"}
    for column in REQUEST_FEATURES:
        if column in CATEGORICAL_FEATURES:
            types[column] = "string"
        elif column in FRACTIONAL_FEATURES:
            types[column] = "double"
        else:
            types[column] = "long"
    return types


def house_age(year_built: pd.Series, *, year: int | None = None) -> pd.Series:
    """Age in years at scoring time: the current UTC year minus YearBuilt."""
    current = year if year is not None else datetime.now(timezone.utc).year
    return current - year_built.astype("float64")


def _model_frame(frame: pd.DataFrame) -> pd.DataFrame:
    model_input = frame[NUMERIC_FEATURES + CATEGORICAL_FEATURES].copy()
    model_input[HOUSE_AGE] = house_age(frame["YearBuilt"])
    return model_input


@dataclass
class HousePriceModel:
    """A fitted pipeline plus the contract of the endpoint that serves it.

    Requests carry ``Id`` and the columns of ``request_columns``; the columns of
    ``lookup_columns`` come from the online feature store by ``Id``.
    """

    pipeline: Pipeline
    request_columns: dict[str, str] = field(default_factory=request_column_types)
    lookup_columns: list[str] = field(default_factory=lambda: list(LOOKUP_FEATURES))
    lookup_key: str = ID_COLUMN
    metrics: dict[str, float] = field(default_factory=dict)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predict sale prices in dollars for rows holding request and lookup columns."""
        return self.pipeline.predict(_model_frame(frame)).astype("float64")


def build_pipeline(*, random_state: int = 42) -> Pipeline:
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    columns = ColumnTransformer(
        [("categorical", encoder, CATEGORICAL_FEATURES)], remainder="passthrough"
    )
    regressor = GradientBoostingRegressor(
        n_estimators=300, learning_rate=0.05, max_depth=4, subsample=0.8, random_state=random_state
    )
    return Pipeline([("preprocess", columns), ("regressor", regressor)])


def join_lookup_features(frame: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Replace the lookup columns of ``frame`` with the feature table's values by Id."""
    lookup = features[[ID_COLUMN, *LOOKUP_FEATURES]]
    joined = frame.drop(columns=[c for c in LOOKUP_FEATURES if c in frame.columns])
    joined = joined.merge(lookup, on=ID_COLUMN, how="left", validate="many_to_one")
    missing = joined[LOOKUP_FEATURES].isna().any(axis=1)
    if missing.any():
        ids = joined.loc[missing, ID_COLUMN].head(5).tolist()
        raise ValueError(
            f"{int(missing.sum())} rows have no features in the feature table, such as Id "
            f"{ids}; materialize house_features first"
        )
    return joined


def train_model(
    train: pd.DataFrame, test: pd.DataFrame, features: pd.DataFrame
) -> HousePriceModel:
    """Fit on the training set with looked-up features and score on the test set."""
    train = join_lookup_features(train, features)
    test = join_lookup_features(test, features)
    pipeline = build_pipeline()
    pipeline.fit(_model_frame(train), train[TARGET_COLUMN])
    model = HousePriceModel(pipeline=pipeline)
    predicted = model.predict(test)
    actual = test[TARGET_COLUMN].to_numpy()
    model.metrics = {
        "test_mae": float(mean_absolute_error(actual, predicted)),
        "test_rmse": float(np.sqrt(mean_squared_error(actual, predicted))),
        "test_r2": float(r2_score(actual, predicted)),
    }
    return model
