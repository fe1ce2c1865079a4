"""Unity Catalog tables and model aliases, quality monitors, synced tables and pipelines."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from housemon_dagster.local.monitor import engine_config
from housemon_dagster.local.online_store import OnlineStore
from housemon_dagster.local.registry import ModelNotFoundError
from housemon_dagster.resources.base import MonitorSpec
from housemon_dagster_tests.databricks.emulator.http import ApiError, not_found, route
from housemon_dagster_tests.databricks.emulator.state import EmulatorState

log = logging.getLogger(__name__)


def current_user(state: EmulatorState, request: Request, body: Any) -> dict:
    return {"id": "1001", "userName": state.user_name, "displayName": "housemon tests"}


def get_table(state: EmulatorState, request: Request, body: Any) -> dict:
    name = request.path_params["name"]
    if not state.store.exists(name):
        raise not_found("Table", name, "TABLE_DOES_NOT_EXIST")
    catalog, schema, table = name.split(".")
    columns = [
        {"name": f.name, "type_text": str(f.type), "position": i, "nullable": True}
        for i, f in enumerate(state.store.table(name).schema().to_arrow())
    ]
    return {
        "name": table,
        "catalog_name": catalog,
        "schema_name": schema,
        "full_name": name,
        "table_type": "MANAGED",
        "data_source_format": "DELTA",
        "columns": columns,
    }


def get_alias(state: EmulatorState, request: Request, body: Any) -> dict:
    name, alias = request.path_params["name"], request.path_params["alias"]
    try:
        version = state.registry.get(name, alias=alias)
    except ModelNotFoundError as error:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", str(error)) from error
    return {
        "model_name": name,
        "version": version.version,
        "aliases": [{"alias_name": alias, "version_num": version.version}],
        "catalog_name": name.split(".")[0],
        "schema_name": name.split(".")[1],
        "status": "READY",
    }


def _spec(table: str, body: dict[str, Any]) -> MonitorSpec:
    logged = body["inference_log"]
    return MonitorSpec(
        table_name=table,
        output_schema_name=body["output_schema_name"],
        assets_dir=body.get("assets_dir", ""),
        granularities=tuple(logged["granularities"]),
        baseline_table_name=body.get("baseline_table_name"),
        prediction_col=logged["prediction_col"],
        label_col=logged.get("label_col"),
        timestamp_col=logged["timestamp_col"],
        model_id_col=logged["model_id_col"],
        problem_type=logged["problem_type"].removeprefix("PROBLEM_TYPE_").lower(),
        slicing_exprs=tuple(body.get("slicing_exprs") or ()),
    )


def monitor(state: EmulatorState, request: Request, body: Any) -> dict:
    table = request.path_params["name"]
    current = state.monitors.get(table)
    if request.method == "POST":
        if current is not None:
            raise ApiError(
                409, "RESOURCE_ALREADY_EXISTS", f"Monitor already exists for table {table}."
            )
        if not state.store.exists(table):
            raise not_found("Table", table, "TABLE_DOES_NOT_EXIST")
        _spec(table, body)
        short = table.split(".")[-1]
        current = {
            "table_name": table,
            "status": "MONITOR_STATUS_PENDING",
            "monitor_version": "1",
            "profile_metrics_table_name": f"{body['output_schema_name']}.{short}_profile_metrics",
            "drift_metrics_table_name": f"{body['output_schema_name']}.{short}_drift_metrics",
            **{k: v for k, v in body.items() if k != "table_name"},
        }
        state.monitors[table] = current
        return current
    if current is None:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Monitor for table {table} does not exist.")
    if request.method == "PUT":
        current.update({k: v for k, v in body.items() if k != "table_name"})
        current["monitor_version"] = str(int(current["monitor_version"]) + 1)
        return current
    shown = dict(current)
    current["status"] = "MONITOR_STATUS_ACTIVE"
    return shown


def _advance_refresh(state: EmulatorState, table: str, refresh: dict[str, Any]) -> None:
    if refresh["state"] == "PENDING":
        refresh["state"] = "RUNNING"
        return
    if refresh["state"] != "RUNNING":
        return
    if state.failing_refresh_message:
        refresh.update(state="FAILED", message=state.failing_refresh_message)
    else:
        refresh.update(_compute_refresh(state, table))
    refresh["end_time_ms"] = int(time.time() * 1000)


def _compute_refresh(state: EmulatorState, table: str) -> dict[str, Any]:
    from housemon_dagster.monitor import create_or_update_monitor, refresh_monitor

    store = state.store
    create_or_update_monitor(store, engine_config(_spec(table, state.monitors[table])))
    result = refresh_monitor(store, table, log=log)
    return {"state": result.state, "message": result.message or None}


def refreshes(state: EmulatorState, request: Request, body: Any) -> Any:
    table = request.path_params["name"]
    if table not in state.monitors:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Monitor for table {table} does not exist.")
    history = state.refreshes.setdefault(table, [])
    if request.method == "POST":
        refresh = {
            "refresh_id": state.next_id(),
            "state": "PENDING",
            "start_time_ms": int(time.time() * 1000),
            "trigger": "MANUAL",
        }
        history.append(refresh)
        return refresh
    return {"refreshes": history}


def get_refresh(state: EmulatorState, request: Request, body: Any) -> dict:
    table = request.path_params["name"]
    wanted = int(request.path_params["refresh_id"])
    for refresh in state.refreshes.get(table, []):
        if refresh["refresh_id"] == wanted:
            shown = dict(refresh)
            with state.lock:
                _advance_refresh(state, table, refresh)
            return shown
    raise not_found("Refresh", str(wanted))


def synced_table(state: EmulatorState, request: Request, body: Any) -> dict:
    name = request.path_params["name"]
    if name not in state.synced_tables:
        raise not_found("Synced table", name)
    return state.synced_tables[name]


def online_table(state: EmulatorState, request: Request, body: Any) -> dict:
    name = request.path_params["name"]
    if name not in state.online_tables:
        raise not_found("Online table", name)
    return state.online_tables[name]


def pipeline_updates(state: EmulatorState, request: Request, body: Any) -> dict:
    pipeline_id = request.path_params["pipeline_id"]
    pipeline = state.pipelines.get(pipeline_id)
    if pipeline is None:
        raise not_found("Pipeline", pipeline_id)
    update_id = f"update-{state.next_id()}"
    pipeline["updates"][update_id] = {
        "update_id": update_id,
        "pipeline_id": pipeline_id,
        "state": "QUEUED",
    }
    return {"update_id": update_id}


UPDATE_STEPS = {"QUEUED": "INITIALIZING", "INITIALIZING": "RUNNING", "RUNNING": "COMPLETED"}


def get_update(state: EmulatorState, request: Request, body: Any) -> dict:
    pipeline = state.pipelines.get(request.path_params["pipeline_id"])
    update = pipeline["updates"].get(request.path_params["update_id"]) if pipeline else None
    if update is None:
        raise not_found("Update", request.path_params["update_id"])
    shown = dict(update)
    next_state = UPDATE_STEPS.get(update["state"])
    if next_state == "COMPLETED":
        source = pipeline["source_table"]
        OnlineStore(state.root / "online").refresh(
            source, state.store.read_arrow(source), source_version=state.store.version(source)
        )
    if next_state:
        update["state"] = next_state
    return {"update": shown}


def routes(state: EmulatorState) -> list[Route]:
    return [
        route(state, "/api/2.0/preview/scim/v2/Me", current_user, ["GET"]),
        route(state, "/api/2.1/unity-catalog/tables/{name}", get_table, ["GET"]),
        route(state, "/api/2.1/unity-catalog/models/{name}/aliases/{alias}", get_alias, ["GET"]),
        route(
            state, "/api/2.1/unity-catalog/tables/{name}/monitor", monitor, ["GET", "POST", "PUT"]
        ),
        route(
            state,
            "/api/2.1/unity-catalog/tables/{name}/monitor/refreshes",
            refreshes,
            ["GET", "POST"],
        ),
        route(
            state,
            "/api/2.1/unity-catalog/tables/{name}/monitor/refreshes/{refresh_id}",
            get_refresh,
            ["GET"],
        ),
        route(state, "/api/2.0/database/synced_tables/{name}", synced_table, ["GET"]),
        route(state, "/api/2.0/online-tables/{name}", online_table, ["GET"]),
        route(state, "/api/2.0/pipelines/{pipeline_id}/updates", pipeline_updates, ["POST"]),
        route(state, "/api/2.0/pipelines/{pipeline_id}/updates/{update_id}", get_update, ["GET"]),
    ]
