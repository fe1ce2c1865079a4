"""SQL alerts v2 (``/api/2.0/alerts``): create, get, list with pages, update by mask, trash."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from housemon_dagster_tests.databricks.emulator.http import ApiError, not_found, route
from housemon_dagster_tests.databricks.emulator.state import EmulatorState

PAGE_SIZE = 2


def _now() -> str:
    return datetime.now(UTC).isoformat()


def create(state: EmulatorState, request: Request, body: Any) -> dict:
    for field in ("display_name", "query_text", "warehouse_id", "evaluation", "schedule"):
        if not body.get(field):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"alert field {field} is required")
    alert = {
        **body,
        "id": str(uuid.uuid4()),
        "lifecycle_state": "ACTIVE",
        "owner_user_name": state.user_name,
        "create_time": _now(),
        "update_time": _now(),
    }
    alert["evaluation"] = {**body["evaluation"], "state": "UNKNOWN"}
    state.alerts[alert["id"]] = alert
    return alert


def _active(state: EmulatorState, alert_id: str) -> dict[str, Any]:
    alert = state.alerts.get(alert_id)
    if alert is None or alert["lifecycle_state"] == "TRASHED":
        raise not_found("Alert", alert_id)
    return alert


def list_alerts(state: EmulatorState, request: Request, body: Any) -> dict:
    active = [a for a in state.alerts.values() if a["lifecycle_state"] != "TRASHED"]
    size = min(int(request.query_params.get("page_size", PAGE_SIZE)), PAGE_SIZE)
    start = int(request.query_params.get("page_token") or 0)
    page = {"results": active[start : start + size]}
    if start + size < len(active):
        page["next_page_token"] = str(start + size)
    return page


def alert(state: EmulatorState, request: Request, body: Any) -> dict:
    current = _active(state, request.path_params["alert_id"])
    if request.method == "GET":
        return current
    if request.method == "DELETE":
        current["lifecycle_state"] = "TRASHED"
        return {}
    mask = request.query_params.get("update_mask", "")
    if not mask:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "update_mask is required")
    for field in mask.split(","):
        if field == "evaluation":
            current["evaluation"] = {
                **body["evaluation"],
                "state": current["evaluation"].get("state"),
            }
        elif field in body:
            current[field] = body[field]
    current["update_time"] = _now()
    return current


def routes(state: EmulatorState) -> list[Route]:
    return [
        route(state, "/api/2.0/alerts", create, ["POST"]),
        route(state, "/api/2.0/alerts", list_alerts, ["GET"]),
        route(state, "/api/2.0/alerts/{alert_id}", alert, ["GET", "PATCH", "DELETE"]),
    ]
