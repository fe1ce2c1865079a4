"""State shared by the emulator's handlers: folders on disk plus in-memory objects."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.local.registry import ModelRegistry


@dataclass
class Fault:
    """An error response injected for requests whose method and path match."""

    method: str
    path_prefix: str
    status: int
    error_code: str
    message: str = "injected by the emulator"
    times: int = 1
    retry_after: int | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class EmulatorState:
    root: Path
    token: str
    user_name: str = "housemon-tests@example.com"
    faults: list[Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    unknown_requests: list[str] = field(default_factory=list)
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    monitors: dict[str, dict[str, Any]] = field(default_factory=dict)
    refreshes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failing_refresh_message: str | None = None
    denied_tables: set[str] = field(default_factory=set)
    # Number of GET /api/2.0/sql/statements/<id> polls that return RUNNING before the result.
    statement_polls: int = 0
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    synced_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    online_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    statements: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    counter: int = 0

    def next_id(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def store(self) -> DeltaTableStore:
        return DeltaTableStore(self.warehouse)

    @property
    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.root / "models")

    @property
    def dbfs_root(self) -> Path:
        return self.root / "dbfs"

    def dbfs_path(self, path: str) -> Path:
        return self.dbfs_root / path.removeprefix("dbfs:").lstrip("/")

    def local_path(self, path: str) -> Path:
        """Map ``/Volumes/...`` and ``/Workspace/...`` to folders under the root."""
        return self.root / path.lstrip("/")

    def requests_to(self, method: str, prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]
