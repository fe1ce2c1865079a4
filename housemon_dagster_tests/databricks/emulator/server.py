"""The emulator's HTTP server: uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from housemon_dagster_tests.databricks.emulator import alerts, catalog, files, jobs, serving, sql
from housemon_dagster_tests.databricks.emulator.state import EmulatorState, Fault

log = logging.getLogger(__name__)


class Emulator:
    """Serves the emulated workspace at ``host`` until ``stop``; state lives under ``root``."""

    def __init__(self, root: Path) -> None:
        self.state = EmulatorState(root=root, token=secrets.token_hex(16))
        routes: list[Route] = []
        for module in (files, jobs, sql, catalog, serving, alerts):
            routes.extend(module.routes(self.state))
        self.app = Starlette(routes=routes)
        self.app.add_route(
            "/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
        )
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    async def _unknown(self, request: Request) -> JSONResponse:
        log.warning("Emulator has no endpoint %s %s", request.method, request.url.path)
        with self.state.lock:
            self.state.unknown_requests.append(f"{request.method} {request.url.path}")
        return JSONResponse(
            {
                "error_code": "ENDPOINT_NOT_FOUND",
                "message": f"No API found for '{request.method} {request.url.path}'",
            },
            status_code=404,
        )

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return self.state.token

    def start(self) -> Emulator:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("emulator did not start within 10 s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        for run in self.state.runs.values():
            process = run.get("process")
            if process is not None and process.poll() is None:
                process.terminate()

    def inject(self, fault: Fault) -> None:
        with self.state.lock:
            self.state.faults.append(fault)

    def provision_synced_table(self, name: str, source_table: str) -> str:
        """Create a synced table and its sync pipeline, as a bundle deployment would."""
        pipeline_id = f"pipeline-{self.state.next_id()}"
        self.state.pipelines[pipeline_id] = {"source_table": source_table, "updates": {}}
        self.state.synced_tables[name] = {
            "name": name,
            "spec": {"source_table_full_name": source_table, "primary_key_columns": ["Id"]},
            "data_synchronization_status": {
                "pipeline_id": pipeline_id,
                "detailed_state": "SYNCED_TRIGGERED_UPDATE",
            },
        }
        return pipeline_id

    def provision_online_table(self, name: str, source_table: str) -> str:
        """Create a legacy online table and its sync pipeline."""
        pipeline_id = f"pipeline-{self.state.next_id()}"
        self.state.pipelines[pipeline_id] = {"source_table": source_table, "updates": {}}
        self.state.online_tables[name] = {
            "name": name,
            "spec": {"source_table_full_name": source_table, "pipeline_id": pipeline_id},
        }
        return pipeline_id


__all__ = ["Emulator", "Fault"]
