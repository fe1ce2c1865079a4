"""Units of table work that run where the platform runs Spark.

The local platform calls them in the Dagster process with local Spark; the
Databricks platform submits them as Databricks runs through Dagster Pipes. Both
call the same functions with a ``TaskContext``, so the tables come out the same.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from housemon_dagster.core.tables import TableStore

# Task name -> "module:function" under housemon_dagster.tasks.
TASKS = {
    "prepare_data": "data:prepare_data",
    "create_inference_sets": "inference:create_inference_sets",
    "update_feature_table": "inference:update_feature_table",
    "train_model": "training:train_model",
    "refresh_monitoring_table": "monitoring:refresh_monitoring_table",
}


@dataclass
class TaskContext:
    """Everything a task may use: tables, a Spark session on demand, a model registry, a logger."""

    store: TableStore
    catalog: str
    schema: str
    spark_factory: Callable[[], Any] | None = None
    registry: Any = None
    log: logging.Logger | logging.LoggerAdapter = field(
        default_factory=lambda: logging.getLogger("housemon_dagster.tasks")
    )

    def table(self, name: str) -> str:
        return f"{self.catalog}.{self.schema}.{name}"

    @property
    def spark(self) -> Any:
        if self.spark_factory is None:
            raise RuntimeError("this task needs Spark but the platform gave it no session")
        return self.spark_factory()


def resolve_task(name: str) -> Callable[[TaskContext, dict[str, Any]], dict[str, Any]]:
    """Find a task function by name, listing the known names when it does not exist."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known tasks are {sorted(TASKS)}")
    module_name, function_name = TASKS[name].split(":")
    module = importlib.import_module(f"housemon_dagster.tasks.{module_name}")
    return getattr(module, function_name)


def run_task(name: str, context: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    return resolve_task(name)(context, params)
