"""A local monitor engine with the semantics and output tables of Lakehouse Monitoring."""

from housemon_dagster.monitor.config import (
    CustomMetric,
    MonitorConfig,
    MonitorConfigError,
    MonitorInfo,
    MonitorState,
)
from housemon_dagster.monitor.engine import RefreshResult, refresh_monitor
from housemon_dagster.monitor.registry import (
    MonitorNotFoundError,
    create_or_update_monitor,
    get_monitor,
)

__all__ = [
    "CustomMetric",
    "MonitorConfig",
    "MonitorConfigError",
    "MonitorInfo",
    "MonitorNotFoundError",
    "MonitorState",
    "RefreshResult",
    "create_or_update_monitor",
    "get_monitor",
    "refresh_monitor",
]
