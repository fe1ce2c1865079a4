"""Resource set of the local platform."""

from __future__ import annotations

from typing import Any

from housemon_dagster.local.alerts import LocalAlerts
from housemon_dagster.local.monitor import LocalMonitor
from housemon_dagster.local.resources import LocalOnlineStore, LocalSparkTasks, LocalTables
from housemon_dagster.local.serving.options import default_port
from housemon_dagster.local.serving_resource import LocalServing
from housemon_dagster.local.spark import local_spark
from housemon_dagster.settings import Settings


def local_resources(settings: Settings) -> dict[str, Any]:
    default_port()  # rejects a bad HOUSEMON_ENDPOINT_PORT before any run starts
    home = str(settings.home)
    spark = local_spark()
    tables = LocalTables(home=home, catalog=settings.catalog, schema_name=settings.schema)
    return {
        "spark": spark,
        "tables": tables,
        "spark_tasks": LocalSparkTasks(tables=tables, spark=spark),
        "online_store": LocalOnlineStore(home=home),
        "serving": LocalServing(home=home, catalog=settings.catalog, schema_name=settings.schema),
        "monitor": LocalMonitor(home=home),
        "alerts": LocalAlerts(home=home, spark=spark),
    }
