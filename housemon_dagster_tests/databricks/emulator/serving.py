"""Serving endpoints: config updates that settle after a poll, and scoring with logging.

``POST /serving-endpoints/<name>/invocations`` scores with the served model version
from the local registry. It takes the lookup features from the online store snapshot
that the last sync pipeline update published, and it appends one row per request to
the endpoint's AI Gateway inference table (``<prefix>_payload``).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from housemon_dagster.core.model import join_lookup_features
from housemon_dagster.core.schema import ID_COLUMN
from housemon_dagster.local.online_store import OnlineStore, OnlineStoreError
from housemon_dagster_tests.databricks.emulator.http import ApiError, not_found, route
from housemon_dagster_tests.databricks.emulator.state import EmulatorState

PAYLOAD_SCHEMA = pa.schema(
    [
        ("request_time", pa.timestamp("us", tz="UTC")),
        ("request_date", pa.date32()),
        ("execution_duration_ms", pa.int64()),
        ("served_entity_id", pa.string()),
        ("requester", pa.string()),
        ("logging_error_codes", pa.list_(pa.string())),
        ("status_code", pa.int32()),
        ("request", pa.string()),
        ("response", pa.string()),
        ("databricks_request_id", pa.string()),
        ("client_request_id", pa.string()),
        ("sampling_fraction", pa.float64()),
    ]
)


def _shown(endpoint: dict[str, Any]) -> dict[str, Any]:
    """Return the endpoint as GET shows it, then let a pending update settle."""
    shown = json.loads(json.dumps(endpoint["public"]))
    if endpoint["public"]["state"]["config_update"] == "IN_PROGRESS":
        endpoint["public"]["state"] = {"config_update": "NOT_UPDATING", "ready": "READY"}
    return shown


def _served(name: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **entity,
            "name": entity.get("name")
            or f"{entity['entity_name'].split('.')[-1]}-{entity['entity_version']}",
        }
        for entity in entities
    ]


def create(state: EmulatorState, request: Request, body: Any) -> dict:
    name = body["name"]
    if name in state.endpoints:
        raise ApiError(
            409, "RESOURCE_ALREADY_EXISTS", f"Endpoint with name '{name}' already exists."
        )
    entities = _served(name, body["config"]["served_entities"])
    public = {
        "name": name,
        "id": uuid.uuid4().hex,
        "creator": state.user_name,
        "config": {"served_entities": entities, "config_version": 1},
        "state": {"config_update": "IN_PROGRESS", "ready": "NOT_READY"},
    }
    if body.get("ai_gateway"):
        public["ai_gateway"] = body["ai_gateway"]
    state.endpoints[name] = {"public": public}
    return public


def get(state: EmulatorState, request: Request, body: Any) -> dict:
    endpoint = state.endpoints.get(request.path_params["name"])
    if endpoint is None:
        raise not_found("Serving endpoint", request.path_params["name"])
    return _shown(endpoint)


def update_config(state: EmulatorState, request: Request, body: Any) -> dict:
    name = request.path_params["name"]
    endpoint = state.endpoints.get(name)
    if endpoint is None:
        raise not_found("Serving endpoint", name)
    public = endpoint["public"]
    if public["state"]["config_update"] == "IN_PROGRESS":
        raise ApiError(
            409, "RESOURCE_CONFLICT", f"Endpoint {name} already has an update in progress."
        )
    public["config"] = {
        "served_entities": _served(name, body["served_entities"]),
        "config_version": public["config"]["config_version"] + 1,
    }
    public["state"] = {"config_update": "IN_PROGRESS", "ready": "READY"}
    return json.loads(json.dumps(public))


def _predict(
    state: EmulatorState, entity: dict[str, Any], records: list[dict[str, Any]]
) -> list[float]:
    registry = state.registry
    version = registry.get(entity["entity_name"], version=int(entity["entity_version"]))
    model = registry.load(version)
    source = entity["entity_name"].rsplit(".", 1)[0] + ".house_features"
    _, features = OnlineStore(state.root / "online").load(source, key=ID_COLUMN)
    frame = join_lookup_features(pd.DataFrame(records), features.reset_index())
    return [float(p) for p in model.predict(frame)]


def _log(state: EmulatorState, endpoint: dict[str, Any], row: dict[str, Any]) -> None:
    config = (endpoint["public"].get("ai_gateway") or {}).get("inference_table_config")
    if not config or not config.get("enabled"):
        return
    table = (
        f"{config['catalog_name']}.{config['schema_name']}.{config['table_name_prefix']}_payload"
    )
    with state.lock:
        state.store.write(table, pa.Table.from_pylist([row], schema=PAYLOAD_SCHEMA), mode="append")


def invocations(state: EmulatorState, request: Request, body: Any) -> Any:
    name = request.path_params["name"]
    endpoint = state.endpoints.get(name)
    if endpoint is None:
        raise not_found("Serving endpoint", name)
    started = time.perf_counter()
    entity = endpoint["public"]["config"]["served_entities"][0]
    try:
        answer, status = {"predictions": _predict(state, entity, body["dataframe_records"])}, 200
    except (KeyError, ValueError, OnlineStoreError) as error:
        answer, status = {"error_code": "BAD_REQUEST", "message": str(error)}, 400
    now = datetime.now(UTC)
    _log(
        state,
        endpoint,
        {
            "request_time": now,
            "request_date": now.date(),
            "execution_duration_ms": int((time.perf_counter() - started) * 1000),
            "served_entity_id": entity["name"],
            "requester": state.user_name,
            "logging_error_codes": [],
            "status_code": status,
            "request": json.dumps(body),
            "response": json.dumps(answer),
            "databricks_request_id": str(uuid.uuid4()),
            "client_request_id": None,
            "sampling_fraction": 1.0,
        },
    )
    headers = {"served-model-name": entity["name"]}
    return JSONResponse(answer, status_code=status, headers=headers)


def routes(state: EmulatorState) -> list[Route]:
    return [
        route(state, "/api/2.0/serving-endpoints", create, ["POST"]),
        route(state, "/api/2.0/serving-endpoints/{name}", get, ["GET"]),
        route(state, "/api/2.0/serving-endpoints/{name}/config", update_config, ["PUT"]),
        route(state, "/serving-endpoints/{name}/invocations", invocations, ["POST"]),
    ]
