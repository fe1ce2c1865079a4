"""Resource set of the Databricks platform, configured from ``HOUSEMON_DATABRICKS_*`` variables.

Connection settings (host, token, profile, OAuth client) are left to databricks-sdk,
which reads ``DATABRICKS_*`` variables and ``~/.databrickscfg``.
"""

from __future__ import annotations

import os
from typing import Any

from housemon_dagster.databricks.alerts import DatabricksAlerts
from housemon_dagster.databricks.monitor import DatabricksMonitor
from housemon_dagster.databricks.resources import DatabricksOnlineStore, DatabricksTables
from housemon_dagster.databricks.serving import DatabricksServing
from housemon_dagster.databricks.tasks import DatabricksSparkTasks
from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster.settings import Settings, SettingsError


def _env(variable: str) -> str | None:
    value = os.environ.get(variable, "").strip()
    return value or None


def _seconds(variable: str, default: float) -> float:
    text = _env(variable)
    if text is None:
        return default
    try:
        return float(text)
    except ValueError as error:
        raise SettingsError(f"{variable}={text!r} is not a number of seconds") from error


def task_settings(settings: Settings) -> dict[str, Any]:
    """Return the Spark task fields that are set in the environment."""
    values: dict[str, Any] = {
        "compute": _env("HOUSEMON_DATABRICKS_COMPUTE") or "cluster",
        "entrypoint_path": _env("HOUSEMON_DATABRICKS_ENTRYPOINT"),
        "wheel_path": _env("HOUSEMON_DATABRICKS_WHEEL"),
        "existing_cluster_id": _env("HOUSEMON_DATABRICKS_CLUSTER_ID"),
        "spark_version": _env("HOUSEMON_DATABRICKS_SPARK_VERSION"),
        "node_type_id": _env("HOUSEMON_DATABRICKS_NODE_TYPE"),
        "volume_path": _env("HOUSEMON_DATABRICKS_VOLUME")
        or f"/Volumes/{settings.catalog}/{settings.schema}/pipes",
    }
    if values["compute"] not in ("cluster", "serverless"):
        raise SettingsError(
            f"HOUSEMON_DATABRICKS_COMPUTE={values['compute']!r} is not supported; "
            "use cluster or serverless"
        )
    return {key: value for key, value in values.items() if value is not None}


def databricks_resources(settings: Settings) -> dict[str, Any]:
    """Return the resources under the same keys as the local platform, plus ``workspace``.

    ``HOUSEMON_DATABRICKS_POLL_SECONDS`` sets every poll interval (default: each
    resource's own), which tests against an emulator shorten.
    """
    workspace = DatabricksWorkspace(warehouse_id=_env("DATABRICKS_WAREHOUSE_ID"))
    poll = _env("HOUSEMON_DATABRICKS_POLL_SECONDS")
    polling: dict[str, float] = (
        {"poll_interval_seconds": _seconds("HOUSEMON_DATABRICKS_POLL_SECONDS", 0)} if poll else {}
    )
    tables = DatabricksTables(
        workspace=workspace, catalog=settings.catalog, schema_name=settings.schema
    )
    tasks_polling = dict(polling)
    if poll:
        tasks_polling["message_interval_seconds"] = polling["poll_interval_seconds"]
    return {
        "workspace": workspace,
        "tables": tables,
        "spark_tasks": DatabricksSparkTasks(
            workspace=workspace, tables=tables, **task_settings(settings), **tasks_polling
        ),
        "online_store": DatabricksOnlineStore(
            workspace=workspace, online_table=_env("HOUSEMON_DATABRICKS_ONLINE_TABLE"), **polling
        ),
        "serving": DatabricksServing(
            workspace=workspace, catalog=settings.catalog, schema_name=settings.schema, **polling
        ),
        "monitor": DatabricksMonitor(workspace=workspace, **polling),
        "alerts": DatabricksAlerts(workspace=workspace),
    }
