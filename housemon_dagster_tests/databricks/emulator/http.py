"""Request handling shared by every emulated endpoint: auth, injected faults, recording."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from housemon_dagster_tests.databricks.emulator.state import EmulatorState, RecordedRequest

Handler = Callable[[EmulatorState, Request, Any], Response | dict | list]


class ApiError(Exception):
    """Raised by handlers to respond with a Databricks error body."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def error_response(
    status: int, error_code: str, message: str, headers: dict | None = None
) -> Response:
    return JSONResponse({"error_code": error_code, "message": message}, status, headers=headers)


def _match_fault(state: EmulatorState, method: str, path: str) -> Response | None:
    with state.lock:
        for fault in state.faults:
            if fault.times > 0 and fault.method == method and path.startswith(fault.path_prefix):
                fault.times -= 1
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
                return error_response(fault.status, fault.error_code, fault.message, headers)
    return None


def route(
    state: EmulatorState, path: str, handler: Handler, methods: list[str], *, raw_body: bool = False
) -> Route:
    """Wrap ``handler`` with Bearer auth, fault injection and request recording."""

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        body: Any = raw
        if raw and not raw_body:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        record = RecordedRequest(request.method, request.url.path, dict(request.query_params), body)
        with state.lock:
            state.requests.append(record)
        response = _authorize(state, request) or _match_fault(
            state, request.method, request.url.path
        )
        if response is None:
            try:
                result = await run_in_threadpool(handler, state, request, body)
                response = result if isinstance(result, Response) else JSONResponse(result)
            except ApiError as error:
                response = error_response(error.status, error.error_code, error.message)
        record.status = response.status_code
        return response

    return Route(path, endpoint, methods=methods)


def _authorize(state: EmulatorState, request: Request) -> Response | None:
    if request.headers.get("authorization") == f"Bearer {state.token}":
        return None
    return error_response(401, "UNAUTHENTICATED", "Invalid access token.")


def not_found(kind: str, name: str, code: str = "RESOURCE_DOES_NOT_EXIST") -> ApiError:
    return ApiError(404, code, f"{kind} '{name}' does not exist.")
