"""Create, read and update monitors stored as JSON files beside their tables."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from housemon_dagster.core.tables import TableNotFoundError, TableStore, split_name
from housemon_dagster.monitor.config import MonitorConfig, MonitorInfo

log = logging.getLogger(__name__)


class MonitorNotFoundError(LookupError):
    """Raised when a table has no monitor; the message names the job that creates one."""

    def __init__(self, table_name: str) -> None:
        super().__init__(
            f"table {table_name} has no monitor; run the setup_monitoring job (or "
            "materialize quality_monitor), or from Python call "
            "housemon_dagster.monitor.create_or_update_monitor(store, MonitorConfig(...))"
        )
        self.table_name = table_name


def monitor_path(store: TableStore, table_name: str) -> Path:
    """Return ``<warehouse>/<catalog>/<schema>/<table>.monitor.json``."""
    path_of = getattr(store, "path", None)
    if path_of is None:
        raise TypeError(f"{type(store).__name__} has no path(); monitors need a local store")
    table_path = Path(path_of(table_name))
    return table_path.with_name(f"{split_name(table_name)[2]}.monitor.json")


def get_monitor(store: TableStore, table_name: str) -> MonitorInfo | None:
    """Return the stored monitor of ``table_name``, or None if it has none."""
    path = monitor_path(store, table_name)
    if not path.exists():
        return None
    return MonitorInfo.from_dict(json.loads(path.read_text()))


def save_monitor(store: TableStore, info: MonitorInfo) -> None:
    """Write the monitor's JSON atomically, so a crash never leaves half a file."""
    path = monitor_path(store, info.table_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(info.to_dict(), indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path)


def create_or_update_monitor(store: TableStore, config: MonitorConfig) -> MonitorInfo:
    """Store ``config`` as the table's monitor and return it.

    Idempotent: an unchanged configuration keeps its ``monitor_version``. A changed
    one bumps the version, which makes the next refresh a full refresh.
    """
    if not store.exists(config.table_name):
        raise TableNotFoundError(
            config.table_name, hint="write the table before creating its monitor"
        )
    existing = get_monitor(store, config.table_name)
    if existing is not None and existing.config == config:
        return existing
    version = existing.monitor_version + 1 if existing else 1
    info = MonitorInfo(
        config=config, monitor_version=version, state=existing.state if existing else None
    )
    save_monitor(store, info)
    log.info("Stored monitor of %s at version %d", config.table_name, version)
    return info
