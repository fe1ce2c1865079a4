"""Lakehouse Monitoring through ``quality_monitors``: declared configuration and refreshes."""

import logging
from typing import Any

import dagster as dg
from databricks.sdk.errors import NotFound
from databricks.sdk.service.catalog import (
    MonitorInferenceLog,
    MonitorInferenceLogProblemType,
    MonitorInfo,
    MonitorRefreshInfo,
)

from housemon_dagster.databricks.polling import poll_until
from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster.resources.base import MonitorResource, MonitorSpec

log = logging.getLogger(__name__)

PROBLEM_TYPES = {
    "regression": MonitorInferenceLogProblemType.PROBLEM_TYPE_REGRESSION,
    "classification": MonitorInferenceLogProblemType.PROBLEM_TYPE_CLASSIFICATION,
}
REFRESH_TERMINAL_STATES = ("SUCCESS", "FAILED", "CANCELED")


def inference_log(spec: MonitorSpec) -> MonitorInferenceLog:
    return MonitorInferenceLog(
        problem_type=PROBLEM_TYPES[spec.problem_type],
        prediction_col=spec.prediction_col,
        timestamp_col=spec.timestamp_col,
        granularities=list(spec.granularities),
        model_id_col=spec.model_id_col,
        label_col=spec.label_col,
    )


def declared(spec: MonitorSpec) -> dict[str, Any]:
    """Return the fields ``create_or_update`` keeps equal to ``spec``, as the API spells them."""
    return {
        "output_schema_name": spec.output_schema_name,
        "baseline_table_name": spec.baseline_table_name,
        "slicing_exprs": sorted(spec.slicing_exprs),
        "inference_log": inference_log(spec).as_dict(),
    }


def current(info: MonitorInfo) -> dict[str, Any]:
    logged = info.inference_log.as_dict() if info.inference_log else None
    return {
        "output_schema_name": info.output_schema_name,
        "baseline_table_name": info.baseline_table_name,
        "slicing_exprs": sorted(info.slicing_exprs or []),
        "inference_log": logged,
    }


class DatabricksMonitor(MonitorResource):
    """An InferenceLog monitor kept at its declared configuration.

    ``create_or_update`` creates the monitor when ``get`` raises NotFound, updates it
    only when a declared field differs, and otherwise leaves it alone. ``refresh``
    starts a refresh and waits for SUCCESS, failing on FAILED, CANCELED or the timeout.
    """

    workspace: dg.ResourceDependency[DatabricksWorkspace]
    timeout_seconds: float = 3600
    poll_interval_seconds: float = 30

    def _get(self, table: str) -> MonitorInfo | None:
        api = self.workspace.client().quality_monitors
        try:
            return self.workspace.call(
                api.get,
                table,
                pass_not_found=True,
                target=f"monitor of table {table}",
                privilege="SELECT and USE on",
            )
        except NotFound:
            return None

    def create_or_update(
        self, context: dg.AssetExecutionContext, spec: MonitorSpec
    ) -> dict[str, Any]:
        api = self.workspace.client().quality_monitors
        table = spec.table_name
        target = f"table {table}"
        existing = self._get(table)
        if existing is None:
            context.log.info("Creating the quality monitor of %s", table)
            self.workspace.call(
                api.create,
                table,
                output_schema_name=spec.output_schema_name,
                assets_dir=spec.assets_dir,
                inference_log=inference_log(spec),
                baseline_table_name=spec.baseline_table_name,
                slicing_exprs=list(spec.slicing_exprs) or None,
                target=target,
                privilege="MANAGE (or ownership) and SELECT",
            )
            action = "created"
        elif current(existing) != declared(spec):
            context.log.info(
                "Updating the quality monitor of %s to its declared configuration", table
            )
            self.workspace.call(
                api.update,
                table,
                output_schema_name=spec.output_schema_name,
                inference_log=inference_log(spec),
                baseline_table_name=spec.baseline_table_name,
                slicing_exprs=list(spec.slicing_exprs) or None,
                target=target,
                privilege="MANAGE (or ownership)",
            )
            action = "updated"
        else:
            action = "unchanged"
        info = poll_until(
            lambda: self._get(table),
            lambda i: i.status.value if i and i.status else "MISSING",
            terminal=("MONITOR_STATUS_ACTIVE", "MONITOR_STATUS_ERROR", "MONITOR_STATUS_FAILED"),
            description=f"quality monitor of {table}",
            timeout_seconds=self.timeout_seconds,
            interval_seconds=self.poll_interval_seconds,
            log=context.log,
        )
        if info.status.value != "MONITOR_STATUS_ACTIVE":
            raise dg.Failure(
                f"quality monitor of {table} is {info.status.value}: "
                f"{info.latest_monitor_failure_msg or 'no failure message'}"
            )
        context.log.info(
            "Quality monitor of %s %s (version %s)", table, action, info.monitor_version
        )
        return {
            "action": action,
            "monitor_version": info.monitor_version,
            "status": info.status.value,
            "profile_metrics_table": info.profile_metrics_table_name,
            "drift_metrics_table": info.drift_metrics_table_name,
            "dashboard_id": info.dashboard_id,
        }

    def refresh(self, context: dg.AssetExecutionContext, spec: MonitorSpec) -> dict[str, Any]:
        api = self.workspace.client().quality_monitors
        table = spec.table_name
        if self._get(table) is None:
            context.log.info("No quality monitor on %s yet; creating it", table)
            self.create_or_update(context, spec)
        started = self.workspace.call(
            api.run_refresh,
            table,
            target=f"monitor of table {table}",
            privilege="MANAGE (or ownership)",
        )
        description = f"refresh {started.refresh_id} of the monitor of {table}"
        finished: MonitorRefreshInfo = poll_until(
            lambda: self.workspace.call(
                api.get_refresh,
                table,
                str(started.refresh_id),
                target=f"monitor of table {table}",
                privilege="SELECT and USE on",
            ),
            lambda r: r.state.value if r.state else "UNKNOWN",
            terminal=REFRESH_TERMINAL_STATES,
            description=description,
            timeout_seconds=self.timeout_seconds,
            interval_seconds=self.poll_interval_seconds,
            log=context.log,
        )
        state = finished.state.value
        if state != "SUCCESS":
            raise dg.Failure(
                f"{description} ended {state}: {finished.message or 'no message'}; "
                "see the refresh history of the monitor in Catalog Explorer"
            )
        seconds = None
        if finished.end_time_ms and finished.start_time_ms:
            seconds = round((finished.end_time_ms - finished.start_time_ms) / 1000, 1)
        return {"refresh_id": started.refresh_id, "state": state, "elapsed_seconds": seconds}
