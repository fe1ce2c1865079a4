"""SQL alerts through the alerts v2 API, found by display name and never duplicated."""

import logging
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from databricks.sdk.service.sql import (
    Aggregation,
    AlertEvaluationState,
    AlertV2,
    AlertV2Evaluation,
    AlertV2Notification,
    AlertV2Operand,
    AlertV2OperandColumn,
    AlertV2OperandValue,
    ComparisonOperator,
    CronSchedule,
)

from housemon_dagster.core.alerting import decide_state, validate_spec
from housemon_dagster.core.tables import TableNotFoundError
from housemon_dagster.databricks.sql import StatementError, StatementRunner
from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster.resources.base import AlertEvaluation, AlertSpec, AlertsResource

log = logging.getLogger(__name__)

UPDATE_MASK = "display_name,query_text,warehouse_id,evaluation,schedule"


def alert_body(spec: AlertSpec, warehouse_id: str) -> AlertV2:
    """Build the v2 alert that ``spec`` declares."""
    source = AlertV2OperandColumn(
        name=spec.source_column,
        aggregation=Aggregation(spec.aggregation) if spec.aggregation else None,
    )
    evaluation = AlertV2Evaluation(
        source=source,
        comparison_operator=ComparisonOperator(spec.operator),
        threshold=AlertV2Operand(value=AlertV2OperandValue(double_value=float(spec.threshold))),
        empty_result_state=AlertEvaluationState(spec.empty_result_state),
        notification=AlertV2Notification(notify_on_ok=spec.notify_on_ok),
    )
    return AlertV2(
        display_name=spec.display_name,
        query_text=spec.query_text,
        warehouse_id=warehouse_id,
        evaluation=evaluation,
        schedule=CronSchedule(
            quartz_cron_schedule=spec.schedule_cron, timezone_id=spec.schedule_timezone
        ),
    )


def _comparable(alert: AlertV2) -> dict[str, Any]:
    """Return the declared fields of an alert, without state the server adds."""
    evaluation = alert.evaluation.as_dict() if alert.evaluation else {}
    for key in ("state", "last_evaluated_at"):
        evaluation.pop(key, None)
    schedule = alert.schedule.as_dict() if alert.schedule else {}
    schedule.pop("pause_status", None)
    return {
        "display_name": alert.display_name,
        "query_text": (alert.query_text or "").strip(),
        "warehouse_id": alert.warehouse_id,
        "evaluation": evaluation,
        "schedule": schedule,
    }


class DatabricksAlerts(AlertsResource):
    """Keeps one v2 SQL alert per display name at its declared configuration.

    ``evaluate`` runs the alert's query on the same warehouse and applies the alert's
    condition with Databricks' semantics: a NULL or empty result takes
    ``empty_result_state``. The state of the alert's last scheduled evaluation is
    reported beside it.
    """

    workspace: dg.ResourceDependency[DatabricksWorkspace]

    def _find(self, display_name: str) -> list[AlertV2]:
        api = self.workspace.client().alerts_v2
        alerts = self.workspace.call(
            lambda: list(api.list_alerts(page_size=100)),
            target="SQL alerts",
            privilege="permission to list",
        )
        return [
            a
            for a in alerts
            if a.display_name == display_name
            and (a.lifecycle_state is None or a.lifecycle_state.value != "TRASHED")
        ]

    def upsert(self, context: dg.AssetExecutionContext, spec: AlertSpec) -> dict[str, Any]:
        """Create the alert or update it to ``spec``; an unchanged alert is left as is."""
        validate_spec(spec)
        api = self.workspace.client().alerts_v2
        body = alert_body(spec, self.workspace.resolved_warehouse_id())
        found = self._find(spec.display_name)
        if len(found) > 1:
            ids = ", ".join(str(a.id) for a in found)
            context.log.warning(
                "Found %d alerts named %r (%s); keeping the first",
                len(found),
                spec.display_name,
                ids,
            )
        target = f"SQL alert {spec.display_name!r}"
        if not found:
            alert = self.workspace.call(
                api.create_alert,
                body,
                target=target,
                privilege="permission to create alerts in",
            )
            action = "created"
        elif _comparable(found[0]) != _comparable(body):
            alert = self.workspace.call(
                api.update_alert,
                found[0].id,
                body,
                UPDATE_MASK,
                target=f"{target} ({found[0].id})",
                privilege="CAN MANAGE",
            )
            action = "updated"
        else:
            alert, action = found[0], "unchanged"
        context.log.info("Alert %r %s (id %s)", spec.display_name, action, alert.id)
        return {"alert_id": alert.id, "action": action, "warehouse_id": body.warehouse_id}

    def evaluate(self, context: dg.AssetExecutionContext, spec: AlertSpec) -> AlertEvaluation:
        validate_spec(spec)
        now = datetime.now(UTC)
        scheduled = self._scheduled_state(spec.display_name)
        try:
            result = StatementRunner(self.workspace).execute(
                spec.query_text, target=f"query of alert {spec.display_name!r}"
            )
        except (StatementError, TableNotFoundError) as error:
            context.log.error("Alert %r query failed: %s", spec.display_name, error)
            message = f"query failed: {str(error).splitlines()[0]}{scheduled}"
            return AlertEvaluation(spec.display_name, now, None, spec.threshold, "ERROR", message)
        value, state, message = decide_state(spec, result.to_pylist())
        return AlertEvaluation(
            spec.display_name, now, value, spec.threshold, state, message + scheduled
        )

    def _scheduled_state(self, display_name: str) -> str:
        found = self._find(display_name)
        if not found or found[0].evaluation is None or found[0].evaluation.state is None:
            return ""
        evaluation = found[0].evaluation
        state = evaluation.state.value
        return f"; last scheduled evaluation {state} at {evaluation.last_evaluated_at}"
