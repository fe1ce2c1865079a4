"""Alert notifications on the log, file and webhook channels."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.notify import (
    NotifierSettings,
    last_state,
    load_notifier_settings,
    notify_state_change,
    send,
    should_notify,
)
from housemon_dagster.resources.base import AlertEvaluation
from housemon_dagster_tests.sensors.webhook import WebhookReceiver

LOGGER = "housemon_dagster.notify"


def evaluation(state: str) -> AlertEvaluation:
    return AlertEvaluation(
        alert_name="house-prices-model-quality",
        evaluated_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        value=66.7 if state == "TRIGGERED" else 0.0,
        threshold=45.0,
        state=state,
        message=f"the alert is {state}",
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


def closed_port_url() -> str:
    """Return a loopback URL on which nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/alerts"


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (None, "OK", False),
        (None, "TRIGGERED", True),
        ("OK", "OK", False),
        ("OK", "TRIGGERED", True),
        ("TRIGGERED", "TRIGGERED", False),
        ("TRIGGERED", "OK", True),
        ("TRIGGERED", "ERROR", True),
        ("UNKNOWN", "OK", False),
    ],
)
def test_notify_on_state_change(previous, current, expected) -> None:
    assert should_notify(previous, current) is expected


def test_file_channel_appends_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "alerts" / "notifications.jsonl"
    settings = NotifierSettings(channel="file", file=path)
    notify_state_change("OK", evaluation("TRIGGERED"), settings=settings)
    notify_state_change("TRIGGERED", evaluation("OK"), settings=settings)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["state"] for line in lines] == ["TRIGGERED", "OK"]
    assert lines[1]["previous_state"] == "TRIGGERED"


def test_unchanged_state_sends_nothing(tmp_path: Path) -> None:
    path = tmp_path / "notifications.jsonl"
    sent = notify_state_change(
        "TRIGGERED", evaluation("TRIGGERED"), settings=NotifierSettings(channel="file", file=path)
    )
    assert sent is None
    assert not path.exists()


def test_webhook_channel_posts_json(receiver: WebhookReceiver) -> None:
    settings = NotifierSettings(channel="webhook", webhook_url=receiver.url)
    notify_state_change("OK", evaluation("TRIGGERED"), settings=settings, run_id="run-1")
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["state"] == "TRIGGERED"
    assert receiver.bodies[0]["run_id"] == "run-1"
    assert receiver.bodies[0]["value"] == pytest.approx(66.7)


def test_webhook_down_logs_url(caplog) -> None:
    url = closed_port_url()
    settings = NotifierSettings(channel="webhook", webhook_url=url, timeout_seconds=2)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        delivered = send({"state": "TRIGGERED"}, settings)
    assert delivered is False
    assert url in caplog.text


def test_webhook_error_status_logs_url(caplog) -> None:
    server = WebhookReceiver(status=503)
    try:
        settings = NotifierSettings(channel="webhook", webhook_url=server.url)
        with caplog.at_level(logging.ERROR, logger=LOGGER):
            delivered = send({"state": "TRIGGERED"}, settings)
    finally:
        server.stop()
    assert delivered is False
    assert "HTTP 503" in caplog.text
    assert server.url in caplog.text


def test_log_channel_logs_trigger_as_error(caplog) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        notify_state_change("OK", evaluation("TRIGGERED"), settings=NotifierSettings())
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "TRIGGERED" in errors[0].getMessage()


def test_unknown_channel_falls_back_to_log(caplog) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        delivered = send({"state": "OK"}, NotifierSettings(channel="pager"))
    assert delivered is True
    assert "'pager' is not one of" in caplog.text


def test_webhook_without_url_falls_back_to_log(caplog) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        delivered = send({"state": "OK"}, NotifierSettings(channel="webhook"))
    assert delivered is True
    assert "HOUSEMON_ALERT_WEBHOOK_URL is not set" in caplog.text


def test_settings_read_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOUSEMON_ALERT_CHANNEL", "Webhook")
    monkeypatch.setenv("HOUSEMON_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("HOUSEMON_HOME", str(tmp_path))
    monkeypatch.delenv("HOUSEMON_ALERT_FILE", raising=False)
    settings = load_notifier_settings()
    assert settings.channel == "webhook"
    assert settings.webhook_url == "http://127.0.0.1:9/hook"
    assert settings.file == (tmp_path / "alerts.jsonl").resolve()


def test_last_state_reads_latest_evaluation(tmp_path: Path) -> None:
    store = DeltaTableStore(tmp_path / "warehouse")
    table = "c.s.alert_evaluations"
    rows = pd.DataFrame(
        {
            "alert_name": ["house-prices-model-quality", "other", "house-prices-model-quality"],
            "evaluated_at": pd.to_datetime(
                ["2026-01-01 12:00", "2026-01-01 12:10", "2026-01-01 12:05"], utc=True
            ),
            "state": ["OK", "OK", "TRIGGERED"],
        }
    )
    store.write(table, rows.iloc[[2, 0, 1]], mode="append")
    assert last_state(store, table, "house-prices-model-quality") == "TRIGGERED"
    assert last_state(store, table, "missing") is None
    assert last_state(store, "c.s.absent", "house-prices-model-quality") is None
