"""Each Databricks resource against the emulator: the happy paths and idempotency."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from housemon_dagster.databricks.alerts import DatabricksAlerts
from housemon_dagster.databricks.monitor import DatabricksMonitor
from housemon_dagster.databricks.resources import DatabricksOnlineStore
from housemon_dagster.databricks.serving import DatabricksServing
from housemon_dagster.databricks.sql import StatementError, StatementRunner, WarehouseTableStore
from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster.resources.base import AlertSpec, MonitorSpec
from housemon_dagster_tests.databricks.emulator import Emulator

TABLE = "mlops_dev.house_prices.readings"
MONITORED = "mlops_dev.house_prices.model_monitoring"


def _monitor_spec(**changes) -> MonitorSpec:
    values = {
        "table_name": MONITORED,
        "output_schema_name": "mlops_dev.house_prices",
        "assets_dir": "/Workspace/Shared/housemon/monitoring",
        "granularities": ("30 minutes",),
        "baseline_table_name": "mlops_dev.house_prices.train_set",
    }
    return MonitorSpec(**{**values, **changes})


def _alert_spec(**changes) -> AlertSpec:
    values = {
        "display_name": "quality",
        "query_text": f"SELECT max(value) AS worst FROM {TABLE}",
        "source_column": "worst",
        "operator": "GREATER_THAN",
        "threshold": 5.0,
        "empty_result_state": "OK",
    }
    return AlertSpec(**{**values, **changes})


def _readings(emulator: Emulator, values: list[float | None]) -> None:
    frame = pd.DataFrame(
        {"value": pd.Series(values, dtype="float64"), "label": [str(v) for v in values]}
    )
    emulator.state.store.write(TABLE, frame, mode="overwrite")


def test_store_round_trip(workspace: DatabricksWorkspace, emulator: Emulator) -> None:
    store = WarehouseTableStore(workspace)
    frame = pd.DataFrame(
        {
            "name": ["a", "it's", None],
            "value": [1.5, None, 3.0],
            "count": pd.Series([1, 2, 3], dtype="int64"),
            "at": pd.to_datetime(["2026-01-01T00:00:00Z"] * 3, utc=True),
        }
    )
    assert store.exists(TABLE) is False
    assert store.write(TABLE, frame, mode="append") == 3
    assert store.write(TABLE, frame.head(1), mode="append") == 1
    read = store.read_arrow(TABLE).to_pandas()
    assert len(read) == 4
    assert sorted(read["name"].dropna()) == ["a", "a", "it's"]
    assert str(read["at"].dt.tz) == "UTC"
    assert store.exists(TABLE) is True
    assert store.version(TABLE) == 2


def test_store_reads_nested_columns(workspace: DatabricksWorkspace, emulator: Emulator) -> None:
    frame = pd.DataFrame({"window": [{"start": pd.Timestamp("2026-01-01", tz="UTC")}], "n": [1]})
    emulator.state.store.write(TABLE, frame, mode="overwrite")
    read = WarehouseTableStore(workspace).read_arrow(TABLE).to_pylist()
    assert read[0]["window"]["start"].startswith("2026-01-01")


def test_store_reads_across_chunks(workspace: DatabricksWorkspace, emulator: Emulator) -> None:
    _readings(emulator, [float(i) for i in range(4500)])
    read = WarehouseTableStore(workspace).read_arrow(TABLE)
    assert read.num_rows == 4500
    chunk_requests = [r for r in emulator.state.requests if "/result/chunks/" in r.path]
    assert len(chunk_requests) == 2


def test_alert_upsert_is_idempotent(workspace, emulator, context) -> None:
    alerts = DatabricksAlerts(workspace=workspace)
    first = alerts.upsert(context, _alert_spec())
    second = alerts.upsert(context, _alert_spec())
    third = alerts.upsert(context, _alert_spec(threshold=7.0))
    assert first["action"] == "created"
    assert second["action"] == "unchanged"
    assert third["action"] == "updated"
    assert third["alert_id"] == first["alert_id"]
    assert len(emulator.state.requests_to("POST", "/api/2.0/alerts")) == 1
    stored = emulator.state.alerts[first["alert_id"]]
    assert stored["evaluation"]["threshold"]["value"]["double_value"] == 7.0


def test_alert_found_beyond_first_page(workspace, emulator, context) -> None:
    alerts = DatabricksAlerts(workspace=workspace)
    for name in ("one", "two", "three"):
        alerts.upsert(context, _alert_spec(display_name=name))
    again = alerts.upsert(context, _alert_spec(display_name="three"))
    assert again["action"] == "unchanged"
    assert len(emulator.state.requests_to("POST", "/api/2.0/alerts")) == 3


@pytest.mark.parametrize(
    ("values", "state", "value"),
    [
        ([1.0, 9.0], "TRIGGERED", 9.0),
        ([1.0, 2.0], "OK", 2.0),
        ([None], "OK", None),
    ],
)
def test_alert_evaluation_states(workspace, emulator, context, values, state, value) -> None:
    _readings(emulator, values)
    alerts = DatabricksAlerts(workspace=workspace)
    alerts.upsert(context, _alert_spec())
    evaluation = alerts.evaluate(context, _alert_spec())
    assert evaluation.state == state
    assert evaluation.value == value


def test_alert_null_result_uses_empty_state(workspace, emulator, context) -> None:
    _readings(emulator, [None])
    spec = _alert_spec(empty_result_state="TRIGGERED")
    evaluation = DatabricksAlerts(workspace=workspace).evaluate(context, spec)
    assert evaluation.state == "TRIGGERED"
    assert "empty_result_state" in evaluation.message


def test_alert_query_error_is_error_state(workspace, emulator, context) -> None:
    spec = _alert_spec(query_text="SELECT worst FROM mlops_dev.house_prices.missing_table")
    evaluation = DatabricksAlerts(workspace=workspace).evaluate(context, spec)
    assert evaluation.state == "ERROR"


def test_monitor_create_update_refresh(workspace, emulator, context, ames_split) -> None:
    monitor = DatabricksMonitor(workspace=workspace, poll_interval_seconds=0.05)
    emulator.state.store.write(MONITORED, _monitoring_rows(ames_split[1]), mode="overwrite")
    emulator.state.store.write(
        "mlops_dev.house_prices.train_set", _monitoring_rows(ames_split[0]), mode="overwrite"
    )
    created = monitor.create_or_update(context, _monitor_spec())
    unchanged = monitor.create_or_update(context, _monitor_spec())
    updated = monitor.create_or_update(context, _monitor_spec(granularities=("1 day",)))
    refreshed = monitor.refresh(context, _monitor_spec(granularities=("1 day",)))
    assert created["action"] == "created"
    assert unchanged["action"] == "unchanged"
    assert updated["action"] == "updated"
    assert (
        len(
            emulator.state.requests_to("POST", f"/api/2.1/unity-catalog/tables/{MONITORED}/monitor")
        )
        == 2
    )
    assert refreshed["state"] == "SUCCESS"
    assert emulator.state.store.exists(f"{MONITORED}_profile_metrics")


def _monitoring_rows(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame[["Id", "OverallQual", "GrLivArea", "SalePrice"]].head(200).copy()
    rows["timestamp"] = pd.Timestamp("2026-12-01T10:00:00Z")
    rows["model_name"] = "mlops_dev.house_prices.house_prices_model_fe"
    rows["prediction"] = rows["SalePrice"] * 1.1
    rows["sale_price"] = rows.pop("SalePrice").astype("float64")
    return rows


def test_online_store_synced_table(workspace, emulator, context) -> None:
    features = "mlops_dev.house_prices.house_features"
    emulator.state.store.write(
        features, pd.DataFrame({"Id": ["1"], "OverallQual": [5]}), mode="overwrite"
    )
    emulator.provision_synced_table(f"{features}_online", features)
    result = DatabricksOnlineStore(workspace=workspace, poll_interval_seconds=0.05).refresh(
        context, features
    )
    assert result["state"] == "COMPLETED"
    assert result["kind"] == "synced table"


def test_online_store_legacy_online_table(workspace, emulator, context) -> None:
    features = "mlops_dev.house_prices.house_features"
    emulator.state.store.write(
        features, pd.DataFrame({"Id": ["1"], "OverallQual": [5]}), mode="overwrite"
    )
    emulator.provision_online_table(f"{features}_online", features)
    result = DatabricksOnlineStore(workspace=workspace, poll_interval_seconds=0.05).refresh(
        context, features
    )
    assert result["kind"] == "online table"


def test_inference_table_from_ai_gateway(workspace, emulator) -> None:
    emulator.state.endpoints["ep"] = {
        "public": {
            "name": "ep",
            "state": {"config_update": "NOT_UPDATING", "ready": "READY"},
            "ai_gateway": {
                "inference_table_config": {
                    "catalog_name": "c",
                    "schema_name": "s",
                    "table_name_prefix": "logs",
                    "enabled": True,
                }
            },
            "config": {"served_entities": []},
        }
    }
    assert (
        DatabricksServing(workspace=workspace, endpoint_name="ep").inference_table()
        == "c.s.logs_payload"
    )


def test_inference_table_from_legacy_capture(workspace, emulator) -> None:
    emulator.state.endpoints["ep"] = {
        "public": {
            "name": "ep",
            "state": {"config_update": "NOT_UPDATING", "ready": "READY"},
            "config": {
                "served_entities": [],
                "auto_capture_config": {
                    "catalog_name": "c",
                    "schema_name": "s",
                    "table_name_prefix": "old",
                    "enabled": True,
                },
            },
        }
    }
    assert (
        DatabricksServing(workspace=workspace, endpoint_name="ep").inference_table()
        == "c.s.old_payload"
    )


def test_workspace_logs_no_token(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    resource = DatabricksWorkspace(token=emulator.token, warehouse_id="w")
    WarehouseTableStore(resource).exists(TABLE)
    assert "Connected to" in caplog.text
    assert emulator.token not in caplog.text


def test_deploy_creates_then_updates(workspace, emulator, context) -> None:
    name = "mlops_dev.house_prices.house_prices_model_fe"
    registry = emulator.state.registry
    registry.set_alias(name, "latest-model", registry.register(name, {"stub": 1}, meta={}).version)
    serving = DatabricksServing(workspace=workspace, poll_interval_seconds=0.05)
    created = serving.deploy(context, model_name=name, alias="latest-model")
    unchanged = serving.deploy(context, model_name=name, alias="latest-model")
    registry.set_alias(name, "latest-model", registry.register(name, {"stub": 2}, meta={}).version)
    endpoint = emulator.state.endpoints[serving.endpoint_name]["public"]
    endpoint["state"]["config_update"] = "IN_PROGRESS"
    updated = serving.deploy(context, model_name=name, alias="latest-model")
    assert created.details["action"] == "created"
    assert unchanged.details["action"] == "unchanged"
    assert updated.details["action"] == "updated"
    assert updated.version == "2"
    assert endpoint["config"]["served_entities"][0]["entity_version"] == "2"
    creates = emulator.state.requests_to("POST", "/api/2.0/serving-endpoints")
    assert len(creates) == 1
    gateway = creates[0].body["ai_gateway"]["inference_table_config"]
    assert gateway["table_name_prefix"] == serving.endpoint_name
    expected = f"mlops_dev.house_prices.{serving.endpoint_name}_payload"
    assert serving.inference_table() == expected


def test_store_polls_running_statement(workspace, emulator) -> None:
    _readings(emulator, [1.0, 2.0])
    emulator.state.statement_polls = 2
    store = WarehouseTableStore(workspace, StatementRunner(workspace, poll_seconds=0.05))
    assert store.read_arrow(TABLE).num_rows == 2
    polls = [
        r for r in emulator.state.requests if r.method == "GET" and "/sql/statements/" in r.path
    ]
    assert len(polls) == 2


def test_statement_timeout_cancels(workspace, emulator) -> None:
    emulator.state.statement_polls = 10_000
    runner = StatementRunner(workspace, poll_seconds=0.05, timeout_seconds=0.3)
    with pytest.raises(StatementError, match="timed out"):
        runner.execute("SELECT 1 AS one")
    cancels = [r for r in emulator.state.requests if r.path.endswith("/cancel")]
    assert len(cancels) == 1
