"""Building the "normal" and "skewed" inference sets from the training set.

The normal set resamples real training rows, so every column keeps the training
distribution and every label stays with the house it belongs to. The skewed set
resamples the same way and then scales the chosen features (OverallQual and
GrLivArea by default), which is the drift the monitor must catch. Its labels stay
those of the original houses, so the model's error grows with the drift.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

from housemon_dagster.core.schema import (
    CATEGORICAL_FEATURES,
    FRACTIONAL_FEATURES,
    ID_COLUMN,
    NUMERIC_FEATURES,
    TARGET_COLUMN,
    TIMESTAMP_COLUMN,
)

GENERATION_COLUMN = "generation"

# Upper bounds of features that live on a fixed scale; scaled values are clipped here.
FEATURE_LIMITS = {"OverallQual": (1, 10), "OverallCond": (1, 10), "GarageCars": (0, 5)}


@dataclass(frozen=True)
class InferenceSetConfig:
    """How many rows to draw and how to drift the skewed set.

    ``skew_factors`` maps a numeric feature to the factor its values are multiplied by.
    """

    normal_rows: int = 1000
    skewed_rows: int = 1000
    skew_factors: dict[str, float] = field(
        default_factory=lambda: {"OverallQual": 1.5, "GrLivArea": 2.0}
    )
    seed: int = 7

    def validate(self) -> None:
        for name, count in (("normal_rows", self.normal_rows), ("skewed_rows", self.skewed_rows)):
            if count <= 0:
                raise ValueError(f"{name}={count} must be a positive number of rows")
        for feature, factor in self.skew_factors.items():
            if feature not in NUMERIC_FEATURES:
                raise ValueError(
                    f"skew factor given for {feature!r}, which is not a numeric feature; "
                    f"choose from {NUMERIC_FEATURES}"
                )
            if not np.isfinite(factor) or factor <= 0:
                raise ValueError(f"skew factor {factor} for {feature} must be a positive number")

    def fingerprint(self, source_version: str) -> str:
        """Identify the sets this configuration produces from one version of the source."""
        payload = json.dumps({**asdict(self), "source": source_version}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def rank_features(train: pd.DataFrame, *, seed: int) -> pd.Series:
    """Rank numeric features by random forest importance for SalePrice, highest first."""
    forest = RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1)
    forest.fit(train[NUMERIC_FEATURES], train[TARGET_COLUMN])
    ranking = pd.Series(forest.feature_importances_, index=NUMERIC_FEATURES)
    return ranking.sort_values(ascending=False)


def _resample(train: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    picks = rng.integers(0, len(train), size=rows)
    return train.iloc[picks].reset_index(drop=True)


def skew(frame: pd.DataFrame, factors: dict[str, float]) -> pd.DataFrame:
    """Multiply each feature by its factor, keeping integer features integral and in range."""
    skewed = frame.copy()
    for feature, factor in factors.items():
        values = skewed[feature].astype("float64") * factor
        if feature in FEATURE_LIMITS:
            low, high = FEATURE_LIMITS[feature]
            values = values.clip(low, high)
        if feature in FRACTIONAL_FEATURES:
            skewed[feature] = values
        else:
            skewed[feature] = values.round().astype(frame[feature].dtype)
    return skewed


def first_free_id(known_ids: pd.Series) -> int:
    """Return one more than the largest numeric Id in use."""
    numeric = pd.to_numeric(known_ids, errors="coerce").dropna()
    return int(numeric.max()) + 1 if not numeric.empty else 1


def build_inference_sets(
    train: pd.DataFrame,
    *,
    config: InferenceSetConfig,
    first_id: int,
    generation: str,
    now: datetime | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw both sets with Ids ``first_id`` onwards and UTC timestamps."""
    config.validate()
    rng = np.random.default_rng(config.seed)
    normal = _resample(train, config.normal_rows, rng)
    skewed = skew(_resample(train, config.skewed_rows, rng), config.skew_factors)
    stamp = pd.Timestamp(now or datetime.now(timezone.utc))
    columns = [ID_COLUMN, *NUMERIC_FEATURES, *CATEGORICAL_FEATURES, TARGET_COLUMN]
    sets = []
    for offset, frame in ((first_id, normal), (first_id + config.normal_rows, skewed)):
        frame = frame[columns].copy()
        frame[ID_COLUMN] = [str(offset + i) for i in range(len(frame))]
        frame[TIMESTAMP_COLUMN] = stamp
        frame[GENERATION_COLUMN] = generation
        sets.append(frame)
    return sets[0], sets[1]
