"""The alert_evaluations asset: its check, and a notification on each state change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pytest

from housemon_dagster.assets.alerting import alert_evaluations
from housemon_dagster.local.resources import LocalTables
from housemon_dagster.resources.base import AlertEvaluation, AlertSpec, AlertsResource
from housemon_dagster.resources.policy import MonitoringPolicy
from housemon_dagster.settings import Settings
from housemon_dagster_tests.sensors.webhook import WebhookReceiver


class FixedStateAlerts(AlertsResource):
    """Alerts whose every evaluation returns ``state``."""

    state: str

    def upsert(self, context: dg.AssetExecutionContext, spec: AlertSpec) -> dict[str, Any]:
        return {}

    def evaluate(self, context: dg.AssetExecutionContext, spec: AlertSpec) -> AlertEvaluation:
        return AlertEvaluation(
            alert_name=spec.display_name,
            evaluated_at=datetime.now(UTC),
            value=80.0 if self.state == "TRIGGERED" else 10.0,
            threshold=spec.threshold,
            state=self.state,
            message=f"evaluated as {self.state}",
        )


@pytest.fixture
def receiver(monkeypatch) -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    monkeypatch.setenv("HOUSEMON_ALERT_CHANNEL", "webhook")
    monkeypatch.setenv("HOUSEMON_ALERT_WEBHOOK_URL", server.url)
    yield server
    server.stop()


def materialize(settings: Settings, instance: dg.DagsterInstance, state: str):
    resources = {
        "tables": LocalTables(home=str(settings.home)),
        "alerts": FixedStateAlerts(state=state),
        "policy": MonitoringPolicy(),
    }
    return dg.materialize([alert_evaluations], resources=resources, instance=instance)


def evaluate(settings: Settings, instance: dg.DagsterInstance, state: str):
    """Materialize alert_evaluations once; return its check evaluation."""
    return materialize(settings, instance, state).get_asset_check_evaluations()[0]


def test_triggered_alert_fails_check_with_error(settings, instance, receiver) -> None:
    check = evaluate(settings, instance, "TRIGGERED")
    assert check.check_name == "alert_not_triggered"
    assert check.passed is False
    assert check.severity == dg.AssetCheckSeverity.ERROR


def test_ok_alert_passes_check(settings, instance, receiver) -> None:
    check = evaluate(settings, instance, "OK")
    assert check.passed is True


def test_state_changes_post_once_each(settings, instance, receiver) -> None:
    for state in ["OK", "TRIGGERED", "TRIGGERED", "TRIGGERED", "OK", "OK"]:
        evaluate(settings, instance, state)
    states = [(body["previous_state"], body["state"]) for body in receiver.bodies]
    assert states == [("OK", "TRIGGERED"), ("TRIGGERED", "OK")]


def test_webhook_down_keeps_run_successful(settings, instance, monkeypatch) -> None:
    receiver = WebhookReceiver()
    receiver.stop()
    monkeypatch.setenv("HOUSEMON_ALERT_CHANNEL", "webhook")
    monkeypatch.setenv("HOUSEMON_ALERT_WEBHOOK_URL", receiver.url)
    result = materialize(settings, instance, "TRIGGERED")
    messages = [entry.message for entry in instance.all_logs(result.run_id)]
    assert result.success
    assert any(receiver.url in message and "failed" in message for message in messages)
