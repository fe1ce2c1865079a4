"""Notifications of alert state changes, sent to the log, a JSON-lines file or a webhook.

The channel is set with ``HOUSEMON_ALERT_CHANNEL`` (``log``, ``file`` or ``webhook``).
``file`` appends to ``HOUSEMON_ALERT_FILE`` (default ``<HOUSEMON_HOME>/alerts.jsonl``);
``webhook`` POSTs the notification as JSON to ``HOUSEMON_ALERT_WEBHOOK_URL``. ``send``
logs a failed delivery with its target instead of raising, so a broken channel does
not fail the evaluation that produced the notification.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from housemon_dagster.core.tables import TableStore
from housemon_dagster.resources.base import AlertEvaluation

log = logging.getLogger(__name__)

CHANNELS = ("log", "file", "webhook")
TRIGGERED = "TRIGGERED"
WEBHOOK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class NotifierSettings:
    channel: str = "log"
    file: Path | None = None
    webhook_url: str | None = None
    timeout_seconds: float = WEBHOOK_TIMEOUT_SECONDS


def load_notifier_settings() -> NotifierSettings:
    """Read the ``HOUSEMON_ALERT_*`` channel variables; the default channel is ``log``."""
    channel = os.environ.get("HOUSEMON_ALERT_CHANNEL", "log").strip().lower() or "log"
    file = os.environ.get("HOUSEMON_ALERT_FILE", "").strip()
    if not file:
        home = Path(os.environ.get("HOUSEMON_HOME", ".housemon")).expanduser()
        file = str(home / "alerts.jsonl")
    url = os.environ.get("HOUSEMON_ALERT_WEBHOOK_URL", "").strip() or None
    return NotifierSettings(channel=channel, file=Path(file).resolve(), webhook_url=url)


def should_notify(previous: str | None, current: str) -> bool:
    """Tell whether a change from ``previous`` to ``current`` is worth a notification.

    Entering TRIGGERED and leaving it are; a first evaluation counts as leaving OK.
    """
    return (current == TRIGGERED) != (previous == TRIGGERED)


def last_state(store: TableStore, table: str, alert_name: str) -> str | None:
    """Return the state of the latest evaluation of ``alert_name``, or None if there is none."""
    if not store.exists(table):
        return None
    rows = store.read_arrow(table, columns=["alert_name", "evaluated_at", "state"]).to_pandas()
    rows = rows[rows["alert_name"] == alert_name]
    if rows.empty:
        return None
    return str(rows.sort_values("evaluated_at", kind="stable")["state"].iloc[-1])


def build_notification(
    previous: str | None, evaluation: AlertEvaluation, *, run_id: str | None = None
) -> dict[str, Any]:
    """Return the JSON document every channel sends for one state change."""
    return {
        "alert_name": evaluation.alert_name,
        "state": evaluation.state,
        "previous_state": previous,
        "evaluated_at": evaluation.evaluated_at.isoformat(),
        "value": evaluation.value,
        "threshold": evaluation.threshold,
        "message": evaluation.message,
        "run_id": run_id,
    }


def send(notification: dict[str, Any], settings: NotifierSettings, logger: Any = log) -> bool:
    """Send one notification on the configured channel; return whether it was delivered.

    An unknown channel, or a channel without its target, falls back to the log.
    """
    channel = settings.channel
    if channel not in CHANNELS:
        logger.error(
            "HOUSEMON_ALERT_CHANNEL=%r is not one of %s; sending the alert to the log",
            channel,
            CHANNELS,
        )
        channel = "log"
    if channel == "webhook" and not settings.webhook_url:
        logger.error("HOUSEMON_ALERT_WEBHOOK_URL is not set; sending the alert to the log")
        channel = "log"
    if channel == "file":
        return _append_line(notification, settings.file, logger)
    if channel == "webhook":
        return _post(notification, settings.webhook_url, settings.timeout_seconds, logger)
    log_method = logger.error if notification["state"] == TRIGGERED else logger.info
    log_method("Alert notification: %s", json.dumps(notification, sort_keys=True))
    return True


def _append_line(notification: dict[str, Any], path: Path | None, logger: Any) -> bool:
    if path is None:
        logger.error("No file is set for the file channel; set HOUSEMON_ALERT_FILE")
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(notification, sort_keys=True) + "\n")
    except OSError as error:
        logger.error("Writing the alert notification to %s failed: %s", path, error)
        return False
    logger.info("Appended the %s notification to %s", notification["state"], path)
    return True


def _post(notification: dict[str, Any], url: str, timeout: float, logger: Any) -> bool:
    try:
        response = httpx.post(url, json=notification, timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        logger.error("POST of the alert notification to %s failed: %s", url, error)
        return False
    if response.status_code >= 300:
        logger.error(
            "POST of the alert notification to %s failed with HTTP %d: %s",
            url,
            response.status_code,
            response.text[:200],
        )
        return False
    logger.info("Posted the %s notification to %s", notification["state"], url)
    return True


def notify_state_change(
    previous: str | None,
    evaluation: AlertEvaluation,
    *,
    logger: Any = log,
    run_id: str | None = None,
    settings: NotifierSettings | None = None,
) -> dict[str, Any] | None:
    """Send a notification if the alert entered or left TRIGGERED; return what was sent."""
    if not should_notify(previous, evaluation.state):
        return None
    notification = build_notification(previous, evaluation, run_id=run_id)
    send(notification, settings or load_notifier_settings(), logger)
    return notification
