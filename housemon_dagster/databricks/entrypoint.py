"""Entry point of every housemon Databricks run: one task of ``housemon_dagster.tasks``.

The orchestrator submits this file as a ``spark_python_task`` through Dagster Pipes and
passes the task name, its parameters, the catalog and the schema as Pipes extras. The
run opens Pipes, builds a ``TaskContext`` over the run's Spark session, runs the task,
streams its log lines and reports the task's result as a Pipes custom message.

Pipes files go through DBFS on classic clusters and through a Unity Catalog volume on
serverless compute, as ``--transport`` selects, and the run reads and writes them through
the driver's FUSE mounts ``/dbfs`` and ``/Volumes``. The Pipes bootstrap parameters
arrive as environment variables on new job clusters and as command-line arguments on
existing clusters and serverless compute.

Environment variables for running the same file off Databricks (tests do this):
``HOUSEMON_DBFS_FUSE_ROOT`` and ``HOUSEMON_VOLUMES_FUSE_ROOT`` move the mounts,
``HOUSEMON_LOCAL_WAREHOUSE`` swaps Unity Catalog for the local Delta store and
``HOUSEMON_LOCAL_MODEL_REGISTRY`` swaps the MLflow registry for the local one.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster_pipes import (
    PipesBufferedFilesystemMessageWriterChannel,
    PipesCliArgsParamsLoader,
    PipesContextLoader,
    PipesDbfsMessageWriter,
    PipesEnvVarParamsLoader,
    PipesParams,
    PipesUnityCatalogVolumesMessageWriter,
    open_dagster_pipes,
)

MESSAGE_INTERVAL_SECONDS = float(os.environ.get("HOUSEMON_PIPES_INTERVAL_SECONDS", "5"))


def fuse_path(path: str) -> str:
    """Map a DBFS path (``/tmp/x``) or a volume path (``/Volumes/...``) to the driver's mount."""
    if path.startswith("/Volumes/"):
        return os.environ.get("HOUSEMON_VOLUMES_FUSE_ROOT", "") + path
    dbfs_root = os.environ.get("HOUSEMON_DBFS_FUSE_ROOT", "/dbfs")
    return os.path.join(dbfs_root, path.removeprefix("dbfs:").lstrip("/"))


class FuseContextLoader(PipesContextLoader):
    """Reads the injected context file through the FUSE mount of DBFS or of a volume."""

    @contextmanager
    def load_context(self, params: PipesParams) -> Iterator[Any]:
        with open(fuse_path(str(params["path"])), encoding="utf-8") as stream:
            yield json.load(stream)


class FuseDbfsMessageWriter(PipesDbfsMessageWriter):
    """The DBFS message writer with the mount root taken from ``fuse_path``."""

    def make_channel(self, params: PipesParams) -> PipesBufferedFilesystemMessageWriterChannel:
        return PipesBufferedFilesystemMessageWriterChannel(
            path=fuse_path(str(params["path"])), interval=self.interval
        )


class FuseVolumesMessageWriter(PipesUnityCatalogVolumesMessageWriter):
    """The volumes message writer with the mount root taken from ``fuse_path``."""

    def make_channel(self, params: PipesParams) -> PipesBufferedFilesystemMessageWriterChannel:
        return PipesBufferedFilesystemMessageWriterChannel(
            path=fuse_path(str(params["path"])), interval=self.interval
        )


def spark_session() -> Any:
    """Return the run's Spark session; Databricks creates it before the script starts."""
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()


def table_store(spark: Any) -> Any:
    warehouse = os.environ.get("HOUSEMON_LOCAL_WAREHOUSE")
    if warehouse:
        from housemon_dagster.local.delta_store import DeltaTableStore

        return DeltaTableStore(warehouse)
    from housemon_dagster.databricks.spark_store import SparkTableStore

    return SparkTableStore(spark)


def model_registry() -> Any:
    folder = os.environ.get("HOUSEMON_LOCAL_MODEL_REGISTRY")
    if folder:
        from housemon_dagster.local.registry import ModelRegistry

        return ModelRegistry(folder)
    from housemon_dagster.databricks.registry import UnityCatalogRegistry

    return UnityCatalogRegistry()


def jsonable(value: Any) -> Any:
    """Round-trip through JSON so numpy numbers and timestamps become plain values."""

    def fallback(item: Any) -> Any:
        if hasattr(item, "item"):
            return item.item()
        return str(item)

    return json.loads(json.dumps(value, default=fallback))


def main(argv: list[str]) -> None:
    """Run one task; ``argv`` contains ``--transport dbfs|volumes`` and, on existing clusters
    and serverless compute, the Pipes bootstrap arguments."""
    from housemon_dagster.tasks import TaskContext, run_task

    transport = argv[argv.index("--transport") + 1] if "--transport" in argv else "dbfs"
    if transport not in ("dbfs", "volumes"):
        raise SystemExit(f"--transport {transport!r} is not supported; use dbfs or volumes")
    spark = spark_session()
    writer = (
        FuseVolumesMessageWriter(interval=MESSAGE_INTERVAL_SECONDS)
        if transport == "volumes"
        else FuseDbfsMessageWriter(interval=MESSAGE_INTERVAL_SECONDS)
    )
    from_cli = "--dagster-pipes-context" in argv
    params_loader = PipesCliArgsParamsLoader() if from_cli else PipesEnvVarParamsLoader()
    with open_dagster_pipes(
        context_loader=FuseContextLoader(), message_writer=writer, params_loader=params_loader
    ) as pipes:
        task = pipes.get_extra("task")
        context = TaskContext(
            store=table_store(spark),
            catalog=pipes.get_extra("catalog"),
            schema=pipes.get_extra("schema"),
            spark_factory=lambda: spark,
            registry=model_registry(),
            log=pipes.log,
        )
        pipes.log.info("Running task %s", task)
        result = run_task(task, context, dict(pipes.get_extra("params")))
        pipes.report_custom_message({"task": task, "result": jsonable(result)})
        pipes.log.info("Task %s finished", task)


if __name__ == "__main__":
    main(sys.argv[1:])
