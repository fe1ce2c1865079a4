"""The model registry inside Databricks runs: MLflow with the Unity Catalog registry.

It offers the two calls the training task makes on ``TaskContext.registry``:
``register(name, model, meta=...)`` and ``set_alias(name, alias, version)``, with
``name`` a three-part Unity Catalog model name.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: int
    meta: dict[str, Any]


def _pyfunc_model(model: Any) -> Any:
    """Wrap a ``HousePriceModel`` as an MLflow pyfunc model that computes house_age itself."""
    import mlflow

    class HousePricePyfunc(mlflow.pyfunc.PythonModel):
        def __init__(self, fitted: Any) -> None:
            self.fitted = fitted

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return self.fitted.predict(model_input)

    return HousePricePyfunc(model)


class UnityCatalogRegistry:
    """Logs the fitted model with its feature lookups and registers it in Unity Catalog.

    With ``lookup`` given, the model is logged through the Feature Engineering client,
    so Model Serving looks OverallQual, GrLivArea and GarageCars up by Id in the online
    store, as the local endpoint does. It needs ``mlflow`` and
    ``databricks-feature-engineering`` on the cluster (Databricks Runtime ML ships both)
    and the housemon wheel in the serving environment.

    NOTE: written to the documented APIs and never run against a workspace.
    """

    def __init__(self) -> None:
        import mlflow

        mlflow.set_registry_uri("databricks-uc")
        self.mlflow = mlflow

    def register(
        self,
        name: str,
        model: Any,
        *,
        meta: dict[str, Any],
        lookup: dict[str, Any] | None = None,
    ) -> RegisteredVersion:
        mlflow = self.mlflow
        with mlflow.start_run(run_name=f"train {name}") as run:
            mlflow.log_metrics({k: float(v) for k, v in meta.get("metrics", {}).items()})
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "housemon_meta.json"
                path.write_text(json.dumps(meta, default=str, indent=2))
                mlflow.log_artifact(str(path))
            if lookup is None:
                mlflow.pyfunc.log_model(
                    name="model", python_model=_pyfunc_model(model), registered_model_name=name
                )
            else:
                self._log_with_lookups(name, model, lookup)
            log.info("Logged model of run %s as %s", run.info.run_id, name)
        versions = mlflow.MlflowClient().search_model_versions(f"name='{name}'")
        version = max(int(v.version) for v in versions)
        return RegisteredVersion(name=name, version=version, meta=meta)

    def _log_with_lookups(self, name: str, model: Any, lookup: dict[str, Any]) -> None:
        from databricks.feature_engineering import FeatureEngineeringClient, FeatureLookup
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        client = FeatureEngineeringClient()
        training_set = client.create_training_set(
            df=spark.createDataFrame(lookup["train"]),
            feature_lookups=[
                FeatureLookup(
                    table_name=lookup["feature_table"],
                    lookup_key=lookup["lookup_key"],
                    feature_names=list(lookup["feature_names"]),
                )
            ],
            label=lookup["label"],
        )
        client.log_model(
            model=_pyfunc_model(model),
            artifact_path="model",
            flavor=self.mlflow.pyfunc,
            training_set=training_set,
            registered_model_name=name,
        )

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.mlflow.MlflowClient().set_registered_model_alias(name, alias, str(version))
