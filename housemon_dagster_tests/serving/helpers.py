"""Helpers shared by the endpoint tests: test homes, request records, raw HTTP, table reads."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable

from housemon_dagster.core.model import HousePriceModel
from housemon_dagster.local.online_store import OnlineStore
from housemon_dagster.local.registry import ModelRegistry
from housemon_dagster.local.serving import deploy
from housemon_dagster.local.serving.flush import inference_table_path
from housemon_dagster.settings import ENDPOINT_NAME, Settings

INVOCATIONS = f"/serving-endpoints/{ENDPOINT_NAME}/invocations"
TOKEN = "test-token-123"


@dataclass(frozen=True)
class TrainedData:
    model: HousePriceModel
    test: pd.DataFrame
    features: pd.DataFrame


def request_records(data: TrainedData, count: int, *, start: int = 0) -> list[dict[str, Any]]:
    """Return ``count`` test-set rows as request records: Id plus the request columns."""
    columns = list(data.model.request_columns)
    rows = data.test.iloc[start : start + count][columns]
    return json.loads(rows.to_json(orient="records"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare_home(home: Path, data: TrainedData, *, versions: int = 1) -> Settings:
    """Register the model ``versions`` times, publish features version 1, deploy version 1."""
    settings = replace(Settings(), home=home)
    registry = ModelRegistry(home / "models")
    for _ in range(versions):
        registry.register(settings.model_full_name, data.model, meta={"source": "test"})
    publish_features(settings, data.features, version=1)
    deploy(settings, 1)
    return settings


def publish_features(settings: Settings, features: pd.DataFrame, *, version: int) -> None:
    table = pa.Table.from_pandas(features.reset_index(drop=True), preserve_index=False)
    OnlineStore(settings.home / "online").refresh(
        settings.table("house_features"), table, source_version=version
    )


def post_raw(
    url: str,
    body: bytes | Any,
    *,
    token: str | None = TOKEN,
    content_type: str = "application/json",
    path: str = INVOCATIONS,
) -> httpx.Response:
    """POST ``body`` (bytes as they are, anything else as JSON) and return the response."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}{path}", content=data, headers=headers, timeout=30.0)


def read_inference_table(settings: Settings) -> pd.DataFrame:
    path = inference_table_path(settings)
    if not DeltaTable.is_deltatable(str(path)):
        return pd.DataFrame(columns=["databricks_request_id", "client_request_id", "status_code"])
    return DeltaTable(str(path)).to_pandas()
