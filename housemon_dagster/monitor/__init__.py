"""A local monitor engine with the semantics and output tables of Lakehouse Monitoring.

``create_or_update_monitor`` stores a ``MonitorConfig`` beside the table, and
``refresh_monitor`` writes ``<output schema>.<table>_profile_metrics`` and
``_drift_metrics``. Choices where Lakehouse Monitoring leaves room:

- Windows are tumbling UTC windows (see ``windows``). Rows with a null timestamp
  belong to no window and are left out.
- The baseline table is one window without a timestamp. A column missing from the
  baseline (for a training set: prediction, timestamp and model id) gets no
  BASELINE profile or drift rows, and a baseline without the model id column is
  compared with the windows of every model id. Its ``:table`` drift rows count
  columns missing from it as ``non_null_columns_delta.added``.
- Slicing expressions are DuckDB SQL, evaluated per row. Each keeps its 100 most
  frequent values over the whole table. Rows with other values are left out of that
  expression's slices.
- Snapshot monitors profile the whole table at refresh time and append the rows,
  with only BASELINE drift.
"""

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
