"""The model quality alert and its evaluations."""


import dagster as dg
import pandas as pd

from housemon_dagster.assets.metadata import markdown_table
from housemon_dagster.notify import last_state, notify_state_change
from housemon_dagster.resources.base import AlertsResource, TablesResource
from housemon_dagster.resources.policy import MonitoringPolicy

EVALUATIONS_TABLE = "alert_evaluations"


@dg.asset(group_name="alerting", deps=["quality_monitor"])
def model_quality_alert(
    context: dg.AssetExecutionContext,
    tables: TablesResource,
    alerts: AlertsResource,
    policy: MonitoringPolicy,
) -> dg.MaterializeResult:
    """SQL alert on the profile metrics: too many recent windows with a high error."""
    spec = policy.alert_spec(tables)
    result = alerts.upsert(context, spec)
    return dg.MaterializeResult(
        metadata={
            **result,
            "query": dg.MetadataValue.md(f"```sql\n{spec.query_text}\n```"),
            "condition": f"{spec.source_column} {spec.operator} {spec.threshold:g}",
        }
    )


@dg.asset(
    group_name="alerting",
    deps=["model_quality_alert", "model_monitoring_profile_metrics"],
    check_specs=[dg.AssetCheckSpec("alert_not_triggered", asset=EVALUATIONS_TABLE)],
)
def alert_evaluations(
    context: dg.AssetExecutionContext,
    tables: TablesResource,
    alerts: AlertsResource,
    policy: MonitoringPolicy,
) -> dg.MaterializeResult:
    """Append one evaluation of the alert: time, value, threshold and state.

    A state that enters or leaves TRIGGERED is sent on the channel of ``notify``.
    """
    spec = policy.alert_spec(tables)
    evaluation = alerts.evaluate(context, spec)
    row = pd.DataFrame(
        [
            {
                "alert_name": evaluation.alert_name,
                "evaluated_at": pd.Timestamp(evaluation.evaluated_at),
                "value": evaluation.value,
                "threshold": evaluation.threshold,
                "state": evaluation.state,
                "message": evaluation.message,
            }
        ]
    ).astype({"value": "float64"})
    store = tables.store()
    previous = last_state(store, tables.name(EVALUATIONS_TABLE), evaluation.alert_name)
    store.write(tables.name(EVALUATIONS_TABLE), row, mode="append")
    notify_state_change(previous, evaluation, logger=context.log, run_id=context.run_id)
    log = context.log.error if evaluation.state in ("TRIGGERED", "ERROR") else context.log.info
    log("Alert %r is %s: %s", spec.display_name, evaluation.state, evaluation.message)
    history = store.read_arrow(tables.name(EVALUATIONS_TABLE)).to_pandas().tail(5)
    if evaluation.state == "TRIGGERED":
        severity = dg.AssetCheckSeverity.ERROR
    else:
        severity = dg.AssetCheckSeverity.WARN
    return dg.MaterializeResult(
        metadata={
            "state": evaluation.state,
            "value": evaluation.value,
            "threshold": evaluation.threshold,
            "message": evaluation.message,
            "recent": markdown_table(history.astype(str).to_dict("records")),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="alert_not_triggered",
                passed=evaluation.state in ("OK", "UNKNOWN"),
                severity=severity,
                metadata={"state": evaluation.state, "message": evaluation.message},
            )
        ],
    )
