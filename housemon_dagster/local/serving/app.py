"""The Starlette app of the local model serving endpoint.

Routes:

- ``POST /serving-endpoints/{name}/invocations``: MLflow scoring protocol, returns
  ``{"predictions": [...]}``. Every request to the served endpoint, accepted or
  rejected, is logged to the inference table.
- ``GET /serving-endpoints/{name}``: endpoint state and served model version.
- ``GET /health``: 200 when a model and features are loaded, 503 with the reason if not.
- ``POST /admin/flush``: waits until all logged requests are in the inference table.

With a token configured, every route but ``/health`` needs ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from housemon_dagster.core.model import request_column_types
from housemon_dagster.local.serving.config import read_config
from housemon_dagster.local.serving.errors import ApiError
from housemon_dagster.local.serving.flush import request_flush
from housemon_dagster.local.serving.options import ServerOptions
from housemon_dagster.local.serving.protocol import parse_request
from housemon_dagster.local.serving.runtime import EndpointRuntime

log = logging.getLogger(__name__)

# Payloads above this size are stored as null with a logging error code, so one huge
# batch cannot bloat the inference table.
MAX_LOGGED_PAYLOAD_BYTES = 1024 * 1024


def _json_response(status: int, body: dict[str, Any], **headers: str) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers or None,
    )


def _check_token(request: Request, token: str | None) -> None:
    if token is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise ApiError(
            "UNAUTHENTICATED",
            "missing Bearer token; send the header 'Authorization: Bearer <token>'",
        )
    if not hmac.compare_digest(presented.strip().encode(), token.encode()):
        raise ApiError("PERMISSION_DENIED", "invalid access token; send the endpoint's token")


def _check_endpoint(request: Request, options: ServerOptions) -> None:
    name = request.path_params["name"]
    if name != options.endpoint_name:
        raise ApiError(
            "RESOURCE_DOES_NOT_EXIST",
            f"endpoint {name!r} does not exist; this server serves {options.endpoint_name!r}",
        )


async def _read_body(request: Request, options: ServerOptions) -> bytes:
    limit = options.max_body_bytes
    declared = request.headers.get("content-length", "")
    too_large = ApiError(
        "MAX_REQUEST_SIZE_EXCEEDED",
        f"request body exceeds the limit of {limit} bytes; split the records into smaller batches",
    )
    if declared.isdigit() and int(declared) > limit:
        raise too_large

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(read(), options.request_timeout)
    except TimeoutError as error:
        raise ApiError(
            "REQUEST_TIMEOUT",
            f"request body did not arrive within {options.request_timeout} s; resend it",
        ) from error


def _check_media_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "application/json").split(";")[0]
    if media_type.strip().lower() != "application/json":
        raise ApiError(
            "UNSUPPORTED_MEDIA_TYPE",
            f"content type {media_type!r} is not supported; send the header "
            "'Content-Type: application/json'",
        )


class Invocation:
    """One scoring request: its outcome plus what the inference table needs."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.started = time.perf_counter()
        self.request_time = time.time_ns() // 1000
        self.request_id = str(uuid.uuid4())
        self.body: bytes | None = None
        self.client_request_id: str | None = None
        self.served_entity_id: str | None = None
        self.logging_error_codes: list[str] = []

    async def score(self, runtime: EndpointRuntime) -> tuple[int, dict[str, Any]]:
        options = runtime.options
        _check_token(self.request, options.token)
        _check_media_type(self.request)
        try:
            self.body = await _read_body(self.request, options)
        except ApiError as error:
            if error.error_code == "MAX_REQUEST_SIZE_EXCEEDED":
                self.logging_error_codes.append("MAX_REQUEST_SIZE_EXCEEDED")
            raise
        snapshot = runtime.state.snapshot
        if snapshot is not None:
            self.served_entity_id = snapshot.config.served_entity_id
        parsed = parse_request(self.body, _request_columns(snapshot))
        self.client_request_id = parsed.client_request_id
        if snapshot is None:
            raise ApiError(
                "TEMPORARILY_UNAVAILABLE", f"endpoint is not ready: {runtime.state.problem}"
            )
        columns = snapshot.with_features(parsed.columns)
        predictions = await runtime.batcher.predict(snapshot, columns)
        return 200, {"predictions": predictions.tolist()}

    def entry(self, status: int, response_text: str) -> dict[str, Any]:
        request_text = None
        if self.body is not None:
            if len(self.body) > MAX_LOGGED_PAYLOAD_BYTES:
                self.logging_error_codes.append("MAX_REQUEST_SIZE_EXCEEDED")
            else:
                request_text = self.body.decode("utf-8", errors="replace")
        if len(response_text) > MAX_LOGGED_PAYLOAD_BYTES:
            self.logging_error_codes.append("MAX_RESPONSE_SIZE_EXCEEDED")
            response_text = None
        client = self.request.client
        return {
            "request_time": self.request_time,
            "databricks_request_id": self.request_id,
            "client_request_id": self.client_request_id,
            "status_code": status,
            "sampling_fraction": 1.0,
            "execution_duration_ms": int((time.perf_counter() - self.started) * 1000),
            "request": request_text,
            "response": response_text,
            "served_entity_id": self.served_entity_id,
            "logging_error_codes": self.logging_error_codes,
            "requester": client.host if client else None,
        }


def _request_columns(snapshot: Any) -> dict[str, str]:
    if snapshot is not None:
        return snapshot.model.request_columns
    return request_column_types()


async def invocations(request: Request) -> Response:
    runtime: EndpointRuntime = request.app.state.runtime
    try:
        _check_endpoint(request, runtime.options)
    except ApiError as error:
        return _json_response(error.status_code, error.body())
    invocation = Invocation(request)
    try:
        status, body = await invocation.score(runtime)
    except ApiError as error:
        status, body = error.status_code, error.body()
    except Exception as error:
        # Any other failure is a bug or a broken model: return 500 and log the traceback.
        log.exception("Scoring request %s failed", invocation.request_id)
        status = 500
        body = ApiError("INTERNAL_ERROR", f"scoring failed: {error}").body()
    text = json.dumps(body, separators=(",", ":"))
    runtime.log_entry(invocation.entry(status, text))
    headers = {"x-request-id": invocation.request_id}
    if status == 413:
        headers["connection"] = "close"
    return Response(text, status_code=status, media_type="application/json", headers=headers)


async def endpoint_state(request: Request) -> Response:
    runtime: EndpointRuntime = request.app.state.runtime
    try:
        _check_token(request, runtime.options.token)
        _check_endpoint(request, runtime.options)
    except ApiError as error:
        return _json_response(error.status_code, error.body())
    snapshot = runtime.state.snapshot
    latest = read_config(runtime.settings, runtime.options.endpoint_name)
    updating = latest is not None and (
        snapshot is None or latest.config_version != snapshot.config.config_version
    )
    body: dict[str, Any] = {
        "name": runtime.options.endpoint_name,
        "state": {
            "ready": "READY" if snapshot else "NOT_READY",
            "config_update": "IN_PROGRESS" if updating else "NOT_UPDATING",
        },
    }
    if snapshot is not None:
        config = snapshot.config
        body["config"] = {
            "config_version": config.config_version,
            "served_entities": [
                {
                    "name": config.served_entity_id,
                    "entity_name": config.model_name,
                    "entity_version": str(config.model_version),
                }
            ],
        }
        body["online_feature_version"] = snapshot.features.version
    if runtime.state.problem:
        body["message"] = runtime.state.problem
    return _json_response(200, body)


async def health(request: Request) -> Response:
    runtime: EndpointRuntime = request.app.state.runtime
    # ``home`` and ``endpoint`` let a client check that it reached its own endpoint
    # and not one of another housemon home on the same port.
    identity = {"home": str(runtime.settings.home), "endpoint": runtime.options.endpoint_name}
    if runtime.state.snapshot is None:
        body = {"status": "NOT_READY", "message": runtime.state.problem, **identity}
        return _json_response(503, body)
    return _json_response(200, {"status": "READY", **identity})


async def admin_flush(request: Request) -> Response:
    runtime: EndpointRuntime = request.app.state.runtime
    try:
        _check_token(request, runtime.options.token)
        timeout = float(request.query_params.get("timeout", "30"))
        result = await asyncio.to_thread(
            request_flush, runtime.state_dir, runtime.table_path, timeout=timeout
        )
    except ApiError as error:
        return _json_response(error.status_code, error.body())
    except ValueError:
        error = ApiError("INVALID_PARAMETER_VALUE", "query parameter 'timeout' must be seconds")
        return _json_response(error.status_code, error.body())
    except TimeoutError as error:
        log.error("Flush requested through /admin/flush timed out: %s", error)
        return _json_response(504, ApiError("DEADLINE_EXCEEDED", str(error)).body())
    return _json_response(200, asdict(result))


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = {404: "RESOURCE_DOES_NOT_EXIST", 405: "METHOD_NOT_ALLOWED"}.get(
        error.status_code, "BAD_REQUEST"
    )
    message = f"{request.method} {request.url.path}: {error.detail}"
    return _json_response(error.status_code, {"error_code": code, "message": message})


def create_app(options: ServerOptions) -> Starlette:
    """Build the app for one worker; the runtime starts and stops with the lifespan."""
    runtime = EndpointRuntime(options)

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = Starlette(
        routes=[
            Route("/serving-endpoints/{name}/invocations", invocations, methods=["POST"]),
            Route("/serving-endpoints/{name}", endpoint_state, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/admin/flush", admin_flush, methods=["POST"]),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app


def app_from_environment() -> Starlette:
    """Build the app from ``HOUSEMON_SERVING_OPTIONS``; the factory uvicorn workers call."""
    options = ServerOptions.from_environment()
    # Worker processes start with an unconfigured root logger.
    logging.basicConfig(
        level=options.log_level.upper(),
        format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s",
    )
    return create_app(options)
