"""The quality monitor on the local platform, computed by housemon's monitor engine."""


import logging
from pathlib import Path
from typing import Any

import dagster as dg

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.resources.base import MonitorResource, MonitorSpec

log = logging.getLogger(__name__)


def engine_config(spec: MonitorSpec) -> Any:
    from housemon_dagster.monitor.config import MonitorConfig

    return MonitorConfig(
        table_name=spec.table_name,
        profile_type="InferenceLog",
        problem_type=spec.problem_type,
        prediction_col=spec.prediction_col,
        label_col=spec.label_col,
        timestamp_col=spec.timestamp_col,
        model_id_col=spec.model_id_col,
        granularities=tuple(spec.granularities),
        slicing_exprs=tuple(spec.slicing_exprs),
        baseline_table=spec.baseline_table_name,
        output_schema_name=spec.output_schema_name,
    )


class LocalMonitor(MonitorResource):
    """Monitor configuration stored beside the Delta table; metrics written by the engine."""

    home: str

    def _store(self) -> DeltaTableStore:
        return DeltaTableStore(Path(self.home) / "warehouse")

    def create_or_update(self, context: dg.AssetExecutionContext, spec: MonitorSpec) -> dict[str, Any]:
        from housemon_dagster.monitor import create_or_update_monitor

        info = create_or_update_monitor(self._store(), engine_config(spec))
        context.log.info("Monitor on %s at version %s", spec.table_name, info.monitor_version)
        return {"monitor_version": info.monitor_version, "status": "MONITOR_STATUS_ACTIVE"}

    def refresh(self, context: dg.AssetExecutionContext, spec: MonitorSpec) -> dict[str, Any]:
        from housemon_dagster.monitor import create_or_update_monitor, get_monitor, refresh_monitor

        store = self._store()
        if get_monitor(store, spec.table_name) is None:
            context.log.info("No monitor on %s yet; creating it", spec.table_name)
            create_or_update_monitor(store, engine_config(spec))
        result = refresh_monitor(store, spec.table_name, log=context.log)
        if result.state != "SUCCESS":
            raise dg.Failure(f"monitor refresh of {spec.table_name} ended {result.state}")
        return {
            "state": result.state,
            "windows_recomputed": result.windows_recomputed,
            "table_version": result.table_version,
            "elapsed_seconds": round(result.elapsed_seconds, 2),
        }
