"""Options of one endpoint server, passed from the command line to every uvicorn worker."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from housemon_dagster.settings import ENDPOINT_NAME, Settings, load_settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
PORT_VARIABLE = "HOUSEMON_ENDPOINT_PORT"
OPTIONS_VARIABLE = "HOUSEMON_SERVING_OPTIONS"
TOKEN_VARIABLE = "HOUSEMON_ENDPOINT_TOKEN"
# Databricks Model Serving accepts request bodies up to 16 MB; the same default keeps
# requests that work here working there.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


def default_port() -> int:
    """Return the port from ``HOUSEMON_ENDPOINT_PORT``, or 8765 when it is unset."""
    value = os.environ.get(PORT_VARIABLE, "").strip()
    if not value:
        return DEFAULT_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{PORT_VARIABLE}={value!r} is not a TCP port; set it to 1-65535")
    return int(value)


@dataclass(frozen=True)
class ServerOptions:
    """Everything a worker needs to serve; ``token`` is None when auth is off."""

    home: str
    endpoint_name: str = ENDPOINT_NAME
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    token: str | None = field(default=None, repr=False)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    request_timeout: float = 30.0
    keep_alive_timeout: int = 5
    graceful_shutdown_timeout: int = 20
    poll_interval: float = 0.25
    flush_interval: float = 2.0
    fsync_interval: float = 0.1
    inference_logging: bool = True
    log_level: str = "info"
    access_log: bool = False

    def settings(self) -> Settings:
        """Return the environment's settings with ``home`` replaced by this server's."""
        return replace(load_settings(), home=Path(self.home).expanduser().resolve())

    def to_environment(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> ServerOptions:
        text = os.environ.get(OPTIONS_VARIABLE)
        if not text:
            raise RuntimeError(
                f"{OPTIONS_VARIABLE} is not set; start the endpoint with "
                "python -m housemon_dagster.local.serving"
            )
        return cls(**json.loads(text))
