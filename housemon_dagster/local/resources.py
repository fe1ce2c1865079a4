"""Resources of the local platform: everything on this machine, under ``HOUSEMON_HOME``."""


import logging
from pathlib import Path
from typing import Any

import dagster as dg

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.local.online_store import OnlineStore
from housemon_dagster.local.registry import ModelRegistry
from housemon_dagster.local.spark import LocalSparkResource
from housemon_dagster.resources.base import (
    OnlineStoreResource,
    SparkTasksResource,
    TablesResource,
)
from housemon_dagster.tasks import TaskContext, run_task


class LocalTables(TablesResource):
    """Delta tables under ``<home>/warehouse``."""

    home: str

    def store(self) -> DeltaTableStore:
        return DeltaTableStore(Path(self.home) / "warehouse")


class _ContextLog(logging.LoggerAdapter):
    """Sends task logs to the Dagster run log."""

    def __init__(self, dagster_log: Any) -> None:
        super().__init__(logging.getLogger("housemon_dagster.tasks"), {})
        self.dagster_log = dagster_log

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        text = msg % args if args else str(msg)
        if level >= logging.ERROR:
            self.dagster_log.error(text)
        elif level >= logging.WARNING:
            self.dagster_log.warning(text)
        elif level >= logging.INFO:
            self.dagster_log.info(text)
        else:
            self.dagster_log.debug(text)


class LocalSparkTasks(SparkTasksResource):
    """Runs tasks in the Dagster process, with the run's local Spark session."""

    tables: LocalTables
    spark: LocalSparkResource

    def run(
        self, context: dg.AssetExecutionContext, task: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        task_context = TaskContext(
            store=self.tables.store(),
            catalog=self.tables.catalog,
            schema=self.tables.schema_name,
            spark_factory=lambda: self.spark.spark_session,
            registry=ModelRegistry(Path(self.tables.home) / "models"),
            log=_ContextLog(context.log),
        )
        context.log.info("Running task %s in this process; Spark starts if the task needs it", task)
        return run_task(task, task_context, params)


class LocalOnlineStore(OnlineStoreResource):
    """Snapshots of the feature table under ``<home>/online``."""

    home: str

    def refresh(self, context: dg.AssetExecutionContext, feature_table: str) -> dict[str, Any]:
        source = DeltaTableStore(Path(self.home) / "warehouse")
        version = source.version(feature_table)
        if version is None:
            raise RuntimeError(
                f"feature table {feature_table} does not exist; materialize house_features first"
            )
        rows = OnlineStore(Path(self.home) / "online").refresh(
            feature_table, source.read_arrow(feature_table), source_version=version
        )
        context.log.info("Published %d rows of %s version %d online", rows, feature_table, version)
        return {"rows": rows, "feature_table_version": version, "state": "ONLINE"}
