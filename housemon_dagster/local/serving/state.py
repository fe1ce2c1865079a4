"""Serving state of an endpoint: the current model version and online feature snapshot.

``ServingState.refresh`` is called on a poll interval. It reloads the model when the
endpoint config changes and the features when the online store's ``CURRENT`` pointer
moves, then replaces the snapshot reference in one assignment. A request reads the
reference once, so it scores with one consistent model and feature version even while
a swap happens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from housemon_dagster.core.model import HousePriceModel
from housemon_dagster.local.online_store import OnlineStore
from housemon_dagster.local.registry import ModelRegistry
from housemon_dagster.local.serving.config import EndpointConfig, read_config
from housemon_dagster.local.serving.errors import ApiError
from housemon_dagster.settings import Settings

log = logging.getLogger(__name__)

MAX_IDS_IN_MESSAGE = 5


@dataclass(frozen=True)
class FeatureSnapshot:
    """Lookup columns of one online store version, as arrays aligned with ``index``."""

    version: int
    index: pd.Index
    values: dict[str, np.ndarray]

    def lookup(self, ids: pd.Series) -> dict[str, np.ndarray]:
        """Return the lookup columns for ``ids``; unknown Ids raise a 400 error naming them."""
        positions = self.index.get_indexer(ids)
        unknown = positions < 0
        if unknown.any():
            missing = pd.unique(ids[unknown])
            raise ApiError(
                "INVALID_PARAMETER_VALUE",
                f"{len(missing)} Id values are not in the online feature store (version "
                f"{self.version}), such as {missing[:MAX_IDS_IN_MESSAGE].tolist()}; add them "
                "to the feature table and refresh the online store, or send known Ids",
            )
        return {name: column[positions] for name, column in self.values.items()}


@dataclass(frozen=True)
class ServingSnapshot:
    config: EndpointConfig
    model: HousePriceModel
    features: FeatureSnapshot

    def with_features(self, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Return the request columns plus the looked-up feature columns."""
        ids = pd.Series(columns[self.model.lookup_key])
        return {**columns, **self.features.lookup(ids)}

    def predict(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Predict sale prices in dollars from request and looked-up columns."""
        return self.model.predict(pd.DataFrame(columns))


class ServingState:
    """The current ``ServingSnapshot`` plus the versions it was built from."""

    def __init__(self, settings: Settings, endpoint_name: str) -> None:
        self.settings = settings
        self.endpoint_name = endpoint_name
        self.feature_table = settings.table("house_features")
        self.registry = ModelRegistry(settings.home / "models")
        self.online_store = OnlineStore(settings.home / "online")
        self.snapshot: ServingSnapshot | None = None
        self.problem = "the endpoint has not loaded its config yet"
        self._failed: tuple[int | None, int | None] | None = None

    def refresh(self) -> bool:
        """Load whatever changed and swap it in; return True when the snapshot changed.

        A failed load keeps the previous snapshot serving and is logged once per pair
        of config and feature versions.
        """
        config = read_config(self.settings, self.endpoint_name)
        feature_version = self.online_store.current_version(self.feature_table)
        current = self.snapshot
        if config is None or feature_version is None:
            self.problem = self._not_ready_reason(config, feature_version)
            return False
        if (
            current is not None
            and current.config.config_version == config.config_version
            and current.features.version == feature_version
        ):
            return False
        key = (config.config_version, feature_version)
        try:
            self.snapshot = self._build(current, config)
        except Exception as error:
            # The previous snapshot keeps serving until a load succeeds.
            if self._failed != key:
                log.exception(
                    "Loading model %s version %d or features version %s for endpoint %s failed",
                    config.model_name,
                    config.model_version,
                    feature_version,
                    self.endpoint_name,
                )
            self._failed = key
            self.problem = f"loading the served model or features failed: {error}"
            return False
        self._failed = None
        self.problem = ""
        return True

    def _build(self, current: ServingSnapshot | None, config: EndpointConfig) -> ServingSnapshot:
        if current is not None and current.config.config_version == config.config_version:
            model, config = current.model, current.config
        else:
            version = self.registry.get(config.model_name, version=config.model_version)
            model = self.registry.load(version)
            log.info(
                "Endpoint %s now serves %s version %d (config version %d)",
                self.endpoint_name,
                config.model_name,
                config.model_version,
                config.config_version,
            )
        features = self._load_features(model, current)
        return ServingSnapshot(config=config, model=model, features=features)

    def _load_features(
        self, model: HousePriceModel, current: ServingSnapshot | None
    ) -> FeatureSnapshot:
        version = self.online_store.current_version(self.feature_table)
        if current is not None and current.features.version == version:
            return current.features
        version, frame = self.online_store.load(self.feature_table, key=model.lookup_key)
        frame = frame[~frame.index.duplicated(keep="last")]
        index = pd.Index(frame.index.astype(str))
        values = {name: frame[name].to_numpy() for name in model.lookup_columns}
        log.info(
            "Endpoint %s loaded online features version %d (%d keys)",
            self.endpoint_name,
            version,
            len(index),
        )
        return FeatureSnapshot(version=version, index=index, values=values)

    def _not_ready_reason(self, config: EndpointConfig | None, features: int | None) -> str:
        if config is None:
            return (
                f"no model is deployed to endpoint {self.endpoint_name}; materialize the "
                "model_serving_endpoint asset (or run the monitoring_pipeline job) first"
            )
        return (
            f"the online store has no snapshot of {self.feature_table}; materialize the "
            "online_feature_store asset first"
        )
