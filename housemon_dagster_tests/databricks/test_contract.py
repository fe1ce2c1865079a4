"""The emulator and the resources speak the REST contract of the installed databricks-sdk."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from databricks.sdk import service

from housemon_dagster.databricks.monitor import DatabricksMonitor
from housemon_dagster.databricks.sql import WarehouseTableStore
from housemon_dagster_tests.databricks.emulator import Emulator
from housemon_dagster_tests.databricks.test_resources import (
    MONITORED,
    TABLE,
    _alert_spec,
    _monitor_spec,
    _monitoring_rows,
)

SDK_PATH = re.compile(r'f?"(/(?:api/[\d.]+|serving-endpoints)/[^"]*)"')


def _template(path: str) -> str:
    """Replace every path parameter by ``{}``, however it is written."""
    path = re.sub(r"\{_escape_multi_segment_path_parameter\([^)]*\)\}", "/{}", path)
    return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/") or "/"


def sdk_paths() -> set[str]:
    paths = set()
    for module in Path(service.__file__).parent.glob("*.py"):
        paths.update(_template(m.group(1)) for m in SDK_PATH.finditer(module.read_text()))
    return paths


def test_emulated_paths_are_sdk_paths(emulator: Emulator) -> None:
    known = sdk_paths()
    emulated = {
        _template(route.path) for route in emulator.app.routes if route.path != "/{path:path}"
    }
    unknown = sorted(path for path in emulated if path not in known)
    assert unknown == []


def test_statement_request_body(workspace, emulator) -> None:
    emulator.state.store.write(TABLE, pd.DataFrame({"value": [1.0]}), mode="overwrite")
    WarehouseTableStore(workspace).read_arrow(TABLE)
    body = emulator.state.requests_to("POST", "/api/2.0/sql/statements/")[0].body
    assert body["warehouse_id"] == "emulated-warehouse"
    assert body["format"] == "JSON_ARRAY"
    assert body["disposition"] == "INLINE"
    assert body["statement"] == "SELECT * FROM `mlops_dev`.`house_prices`.`readings`"


def test_monitor_create_body(workspace, emulator, context, ames_split) -> None:
    emulator.state.store.write(MONITORED, _monitoring_rows(ames_split[1]), mode="overwrite")
    DatabricksMonitor(workspace=workspace, poll_interval_seconds=0.05).create_or_update(
        context, _monitor_spec()
    )
    body = emulator.state.requests_to("POST", f"/api/2.1/unity-catalog/tables/{MONITORED}/monitor")[
        0
    ].body
    assert body["output_schema_name"] == "mlops_dev.house_prices"
    assert body["assets_dir"] == "/Workspace/Shared/housemon/monitoring"
    assert body["baseline_table_name"] == "mlops_dev.house_prices.train_set"
    assert body["inference_log"] == {
        "problem_type": "PROBLEM_TYPE_REGRESSION",
        "prediction_col": "prediction",
        "timestamp_col": "timestamp",
        "granularities": ["30 minutes"],
        "model_id_col": "model_name",
        "label_col": "sale_price",
    }


def test_alert_create_body(workspace, emulator, context) -> None:
    from housemon_dagster.databricks.alerts import DatabricksAlerts

    DatabricksAlerts(workspace=workspace).upsert(context, _alert_spec())
    body = emulator.state.requests_to("POST", "/api/2.0/alerts")[0].body
    evaluation = body["evaluation"]
    assert body["warehouse_id"] == "emulated-warehouse"
    assert evaluation["source"] == {"name": "worst"}
    assert evaluation["comparison_operator"] == "GREATER_THAN"
    assert evaluation["threshold"] == {"value": {"double_value": 5.0}}
    assert evaluation["empty_result_state"] == "OK"
    assert body["schedule"] == {"quartz_cron_schedule": "0 0/30 * * * ?", "timezone_id": "UTC"}
