"""Endpoint configuration on disk: which registered model version an endpoint serves.

``deploy`` writes ``<home>/endpoints/<endpoint name>.json`` atomically and bumps its
``config_version``. A running endpoint polls that file and swaps the model in without
a restart, the way a Databricks serving endpoint applies a config update.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from housemon_dagster.local.registry import ModelRegistry
from housemon_dagster.settings import ENDPOINT_NAME, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EndpointConfig:
    """The served model of one endpoint and the number of config updates so far."""

    name: str
    model_name: str
    model_version: int
    config_version: int
    updated_at: str

    @property
    def served_entity_id(self) -> str:
        """Served entity name as Model Serving defaults it: ``<model name>-<version>``."""
        return f"{self.model_name.split('.')[-1]}-{self.model_version}"


def endpoints_dir(settings: Settings) -> Path:
    return settings.home / "endpoints"


def config_path(settings: Settings, endpoint_name: str = ENDPOINT_NAME) -> Path:
    return endpoints_dir(settings) / f"{endpoint_name}.json"


def read_config(settings: Settings, endpoint_name: str = ENDPOINT_NAME) -> EndpointConfig | None:
    """Return the endpoint's config, or None when nothing has been deployed yet."""
    path = config_path(settings, endpoint_name)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return EndpointConfig(**data)


def deploy(
    settings: Settings,
    model_version: int,
    *,
    model_name: str | None = None,
    endpoint_name: str = ENDPOINT_NAME,
) -> EndpointConfig:
    """Point the endpoint at ``model_version`` of ``model_name`` (default: the UC model name).

    Raises ``ModelNotFoundError`` when that version is not registered, so a typo never
    reaches a running endpoint.
    """
    name = model_name or settings.model_full_name
    ModelRegistry(settings.home / "models").get(name, version=model_version)
    previous = read_config(settings, endpoint_name)
    config = EndpointConfig(
        name=endpoint_name,
        model_name=name,
        model_version=int(model_version),
        config_version=(previous.config_version + 1) if previous else 1,
        updated_at=datetime.now(UTC).isoformat(),
    )
    path = config_path(settings, endpoint_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        json.dump(asdict(config), stream, indent=2)
    os.replace(temporary, path)
    log.info(
        "Deployed %s version %d to endpoint %s (config version %d)",
        name,
        config.model_version,
        endpoint_name,
        config.config_version,
    )
    return config
