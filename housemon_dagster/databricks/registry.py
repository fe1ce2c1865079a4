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


class UnityCatalogRegistry:
    """Logs the fitted model as an MLflow sklearn model and registers it in Unity Catalog.

    NOTE: needs ``mlflow`` on the cluster (Databricks Runtime ML ships it); it has not
    been run against a workspace, only written to MLflow's documented API.
    """

    def __init__(self) -> None:
        import mlflow

        mlflow.set_registry_uri("databricks-uc")
        self.mlflow = mlflow

    def register(self, name: str, model: Any, *, meta: dict[str, Any]) -> RegisteredVersion:
        mlflow = self.mlflow
        with mlflow.start_run(run_name=f"train {name}") as run:
            mlflow.log_metrics({k: float(v) for k, v in meta.get("metrics", {}).items()})
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "housemon_meta.json"
                path.write_text(json.dumps(meta, default=str, indent=2))
                mlflow.log_artifact(str(path))
            info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
            log.info("Logged model of run %s as %s", run.info.run_id, info.model_uri)
        version = int(info.registered_model_version)
        return RegisteredVersion(name=name, version=version, meta=meta)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.mlflow.MlflowClient().set_registered_model_alias(name, alias, str(version))
