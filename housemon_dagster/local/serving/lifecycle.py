"""Starting, attaching to and stopping the endpoint server as a subprocess."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

import httpx

from housemon_dagster.local.serving.client import EndpointClient
from housemon_dagster.local.serving.options import DEFAULT_HOST, TOKEN_VARIABLE, default_port
from housemon_dagster.settings import ENDPOINT_NAME, Settings

log = logging.getLogger(__name__)

LOG_TAIL_BYTES = 4000


class EndpointStartError(RuntimeError):
    """Raised when the endpoint server does not become ready, naming port and log file."""


class LocalEndpoint:
    """The endpoint server as a child process; a context manager that stops it on exit.

    ``start`` waits up to ``startup_timeout`` seconds until ``/health`` returns 200, which
    needs a deployed model and an online store snapshot. A server that keeps returning
    503 for ``not_ready_grace`` seconds fails the start with the reason it reports. An endpoint found by ``attach_or_start`` is not owned, so
    ``stop`` leaves it running.
    """

    def __init__(
        self,
        settings: Settings,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        *,
        workers: int = 1,
        token: str | None = None,
        max_body_bytes: int | None = None,
        request_timeout: float | None = None,
        inference_logging: bool = True,
        flush_interval: float = 2.0,
        fsync_interval: float = 0.1,
        startup_timeout: float = 60.0,
        not_ready_grace: float = 3.0,
        stop_timeout: float = 20.0,
        endpoint_name: str = ENDPOINT_NAME,
        log_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.host = host
        self.port = port if port is not None else default_port()
        self.workers = workers
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.request_timeout = request_timeout
        self.inference_logging = inference_logging
        self.flush_interval = flush_interval
        self.fsync_interval = fsync_interval
        self.startup_timeout = startup_timeout
        self.not_ready_grace = not_ready_grace
        self.stop_timeout = stop_timeout
        self.endpoint_name = endpoint_name
        self.log_path = log_path or settings.home / "logs" / f"endpoint-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.attached = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "housemon_dagster.local.serving",
            "--home",
            str(self.settings.home),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--endpoint-name",
            self.endpoint_name,
            "--flush-interval",
            str(self.flush_interval),
            "--fsync-interval",
            str(self.fsync_interval),
        ]
        if self.max_body_bytes is not None:
            command += ["--max-body-bytes", str(self.max_body_bytes)]
        if self.request_timeout is not None:
            command += ["--request-timeout", str(self.request_timeout)]
        if not self.inference_logging:
            command.append("--no-inference-log")
        return command

    def start(self) -> LocalEndpoint:
        """Start the server and wait until it is ready; raise ``EndpointStartError`` if not."""
        if self.process is not None and self.process.poll() is None:
            return self
        self._check_port_free()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        environment = dict(os.environ)
        environment.pop(TOKEN_VARIABLE, None)
        if self.token:
            # Passed through the environment so the token never shows in a process list.
            environment[TOKEN_VARIABLE] = self.token
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )
        log.info(
            "Started endpoint %s on %s (pid %d, log %s)",
            self.endpoint_name,
            self.url,
            self.process.pid,
            self.log_path,
        )
        try:
            self._wait_ready()
        except EndpointStartError:
            self.stop()
            raise
        return self

    def _check_port_free(self) -> None:
        # Without this check the health probe would reach the other server and report
        # success while the new one dies on the bind error.
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.host, self.port))
            except OSError as error:
                raise EndpointStartError(
                    f"port {self.port} on {self.host} is already in use ({error}); stop the "
                    "process listening there or set HOUSEMON_ENDPOINT_PORT to a free port"
                ) from error

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        not_ready_since: float | None = None
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise EndpointStartError(
                    f"endpoint server on port {self.port} exited with code "
                    f"{self.process.returncode} during start-up; see {self.log_path}:\n"
                    f"{self._log_tail()}"
                )
            status, body = _probe(self.url)
            if status == 200:
                return
            if status is not None:
                last = f"HTTP {status}: {body.get('message', body)}"
                not_ready_since = not_ready_since or time.monotonic()
                # The server loads its model before it accepts connections, so a lasting
                # 503 means something is missing, and waiting longer will not help.
                if time.monotonic() - not_ready_since > self.not_ready_grace:
                    break
            time.sleep(0.2)
        raise EndpointStartError(
            f"endpoint server on port {self.port} is not ready (last health check: {last}); "
            f"see {self.log_path}"
        )

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as stream:
                stream.seek(0, os.SEEK_END)
                stream.seek(max(0, stream.tell() - LOG_TAIL_BYTES))
                return stream.read().decode("utf-8", errors="replace")
        except OSError as error:
            return f"(log unreadable: {error})"

    @classmethod
    def attach_or_start(cls, settings: Settings, **kwargs: Any) -> LocalEndpoint:
        """Reuse a ready endpoint already listening on the port, or start a new one."""
        endpoint = cls(settings, **kwargs)
        status, body = _probe(endpoint.url)
        served_home = body.get("home")
        if status is not None and served_home is not None and served_home != str(settings.home):
            raise EndpointStartError(
                f"port {endpoint.port} serves the housemon home {served_home}, not "
                f"{settings.home}; stop that endpoint or set HOUSEMON_ENDPOINT_PORT to a free port"
            )
        if status == 200:
            endpoint.attached = True
            log.info("Attached to the endpoint already running on %s", endpoint.url)
            return endpoint
        return endpoint.start()

    def client(self) -> EndpointClient:
        return EndpointClient(self.url, self.token, endpoint_name=self.endpoint_name)

    def flush(self, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until every request the endpoint has responded to is in the inference table."""
        with self.client() as client:
            return client.flush(timeout)

    def stop(self) -> int | None:
        """Send SIGTERM, wait ``stop_timeout`` seconds, then SIGKILL; return the exit code."""
        process = self.process
        if process is None or process.poll() is not None:
            return process.returncode if process else None
        log.info("Stopping endpoint on %s (pid %d)", self.url, process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            log.warning(
                "Endpoint pid %d did not stop within %.0f s; killing it",
                process.pid,
                self.stop_timeout,
            )
            self.kill()
            return process.returncode

    def kill(self) -> None:
        """Kill the server and its workers at once with SIGKILL, as a crash would."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(10)

    def __enter__(self) -> Self:
        if self.process is None and not self.attached:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _probe(url: str) -> tuple[int | None, dict[str, Any]]:
    try:
        response = httpx.get(f"{url}/health", timeout=2.0)
    except httpx.HTTPError:
        return None, {}
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:200]}
    return response.status_code, body if isinstance(body, dict) else {}
