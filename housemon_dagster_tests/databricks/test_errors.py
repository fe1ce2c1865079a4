"""Errors a workspace can return, and what the Databricks resources make of them."""

from __future__ import annotations

import logging

import dagster as dg
import pandas as pd
import pytest

from housemon_dagster.core.tables import TableNotFoundError
from housemon_dagster.databricks.alerts import DatabricksAlerts
from housemon_dagster.databricks.errors import (
    DatabricksNotFoundError,
    DatabricksPermissionError,
    DatabricksPlatformError,
    DatabricksUnavailableError,
)
from housemon_dagster.databricks.monitor import DatabricksMonitor
from housemon_dagster.databricks.resources import DatabricksOnlineStore
from housemon_dagster.databricks.serving import DatabricksScoringClient, DatabricksServing
from housemon_dagster.databricks.sql import WarehouseTableStore
from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster_tests.databricks.emulator import Emulator, Fault
from housemon_dagster_tests.databricks.test_resources import MONITORED, _alert_spec, _monitor_spec

TABLES_API = "/api/2.1/unity-catalog/tables/"


def test_permission_denied_names_principal(workspace, emulator, context) -> None:
    emulator.inject(
        Fault(
            "GET",
            f"{TABLES_API}{MONITORED}/monitor",
            403,
            "PERMISSION_DENIED",
            "User does not have MANAGE on Table.",
        )
    )
    monitor = DatabricksMonitor(workspace=workspace)
    with pytest.raises(DatabricksPermissionError) as raised:
        monitor.create_or_update(context, _monitor_spec())
    message = str(raised.value)
    assert emulator.state.user_name in message
    assert f"table {MONITORED}" in message
    assert "SELECT and USE" in message


def test_statement_permission_denied(workspace, emulator) -> None:
    table = "mlops_dev.house_prices.readings"
    emulator.state.store.write(table, pd.DataFrame({"x": [1]}), mode="overwrite")
    emulator.state.denied_tables.add(table)
    with pytest.raises(DatabricksPermissionError) as raised:
        WarehouseTableStore(workspace).read_arrow(table)
    message = str(raised.value)
    assert emulator.state.user_name in message
    assert "SELECT (and CAN USE on SQL warehouse emulated-warehouse)" in message
    assert f"table {table}" in message


def test_missing_model_alias(workspace, emulator, context) -> None:
    serving = DatabricksServing(workspace=workspace)
    with pytest.raises(DatabricksNotFoundError) as raised:
        serving.deploy(context, model_name="mlops_dev.house_prices.m", alias="latest-model")
    assert "materialize house_prices_model_fe" in str(raised.value)


def test_missing_endpoint_scores_404(workspace, emulator) -> None:
    status, body = DatabricksScoringClient(workspace, "no-such-endpoint").score([{"Id": "1"}])
    assert status == 404
    assert "no-such-endpoint" in body["message"]


def test_missing_table_read(workspace, emulator) -> None:
    with pytest.raises(TableNotFoundError):
        WarehouseTableStore(workspace).read_arrow("mlops_dev.house_prices.missing")


def test_missing_online_table(workspace, emulator, context) -> None:
    store = DatabricksOnlineStore(workspace=workspace)
    with pytest.raises(DatabricksNotFoundError) as raised:
        store.refresh(context, "mlops_dev.house_prices.house_features")
    assert "house_features_online" in str(raised.value)


def test_monitor_refresh_failed(workspace, emulator, context, ames_split) -> None:
    from housemon_dagster_tests.databricks.test_resources import _monitoring_rows

    emulator.state.store.write(MONITORED, _monitoring_rows(ames_split[1]), mode="overwrite")
    emulator.state.failing_refresh_message = "Column sale_price has type STRING, expected DOUBLE"
    monitor = DatabricksMonitor(workspace=workspace, poll_interval_seconds=0.05)
    with pytest.raises(dg.Failure) as raised:
        monitor.refresh(context, _monitor_spec(baseline_table_name=None))
    assert "ended FAILED" in str(raised.value)
    assert "expected DOUBLE" in str(raised.value)


def test_rate_limit_retried_and_logged(workspace, emulator, context, caplog) -> None:
    emulator.inject(
        Fault("GET", "/api/2.0/alerts", 429, "REQUEST_LIMIT_EXCEEDED", times=2, retry_after=1)
    )
    caplog.set_level(logging.WARNING, logger="housemon_dagster.databricks.errors")
    result = DatabricksAlerts(workspace=workspace).upsert(context, _alert_spec())
    assert result["action"] == "created"
    assert len(emulator.state.requests_to("GET", "/api/2.0/alerts")) == 3
    assert "throttled" in caplog.text


def test_server_error_retried_and_logged(workspace, emulator, caplog) -> None:
    table = "mlops_dev.house_prices.readings"
    emulator.state.store.write(table, pd.DataFrame({"x": [1]}), mode="overwrite")
    emulator.inject(Fault("GET", f"{TABLES_API}{table}", 500, "INTERNAL_ERROR", times=2))
    caplog.set_level(logging.WARNING, logger="housemon_dagster.databricks.errors")
    assert WarehouseTableStore(workspace).exists(table) is True
    assert len(emulator.state.requests_to("GET", f"{TABLES_API}{table}")) == 3
    assert "after HTTP 500" in caplog.text


def test_server_error_gives_up(workspace, emulator) -> None:
    emulator.inject(
        Fault("GET", TABLES_API, 503, "TEMPORARILY_UNAVAILABLE", times=50, retry_after=1)
    )
    impatient = DatabricksWorkspace(
        warehouse_id="w", backoff_seconds=0.01, attempts=2, retry_timeout_seconds=2
    )
    with pytest.raises(DatabricksUnavailableError):
        WarehouseTableStore(impatient).exists("mlops_dev.house_prices.readings")


def test_wrong_token_rejected(emulator) -> None:
    wrong = DatabricksWorkspace(token="not-the-token", warehouse_id="w")
    with pytest.raises(DatabricksPlatformError) as raised:
        WarehouseTableStore(wrong).exists("mlops_dev.house_prices.readings")
    assert "HTTP 401" in str(raised.value)
    assert "not-the-token" not in str(raised.value)


def test_requests_carry_bearer_token(workspace: DatabricksWorkspace, emulator: Emulator) -> None:
    WarehouseTableStore(workspace).exists("mlops_dev.house_prices.readings")
    assert all(r.status != 401 for r in emulator.state.requests)
