"""Spark tasks as Databricks runs, submitted and followed through Dagster Pipes."""

import logging
from typing import Any, Literal

import dagster as dg
from dagster._core.errors import DagsterPipesExecutionError
from dagster_databricks.pipes import (
    PipesDatabricksClient,
    PipesDatabricksServerlessClient,
    PipesDbfsMessageReader,
    PipesUnityCatalogVolumesMessageReader,
)
from databricks.sdk.service import compute, jobs

from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster.resources.base import SparkTasksResource, TablesResource

log = logging.getLogger(__name__)

PIPES_REQUIREMENT = "dagster-pipes==1.13.27"
ENVIRONMENT_KEY = "housemon"


class DatabricksSparkTasks(SparkTasksResource):
    """Runs each task as a one-off Databricks run of ``entrypoint.py`` (``runs/submit``).

    ``compute="cluster"`` starts a new job cluster (or uses ``existing_cluster_id``)
    and passes Pipes messages through DBFS; ``compute="serverless"`` runs on
    serverless jobs compute and passes them through the Unity Catalog volume at
    ``volume_path``. Either way the run installs the housemon wheel and dagster-pipes.
    """

    workspace: dg.ResourceDependency[DatabricksWorkspace]
    tables: dg.ResourceDependency[TablesResource]
    compute: Literal["cluster", "serverless"] = "cluster"
    entrypoint_path: str = (
        "/Workspace/Shared/housemon/dev/files/housemon_dagster/databricks/entrypoint.py"
    )
    """Workspace or DBFS path of this package's ``entrypoint.py``; the default is where
    ``databricks bundle deploy -t dev`` puts it."""
    wheel_path: str = (
        "/Workspace/Shared/housemon/dev/artifacts/.internal/housemon-0.1.0-py3-none-any.whl"
    )
    """Workspace, volume or DBFS path of the housemon wheel the run installs; the default
    is where the dev target's deploy uploads it."""
    spark_version: str = "16.4.x-cpu-ml-scala2.12"
    """Databricks Runtime of new job clusters; the ML runtime ships MLflow."""
    node_type_id: str = "i3.xlarge"
    num_workers: int = 1
    existing_cluster_id: str | None = None
    volume_path: str = "/Volumes/mlops_dev/house_prices/pipes"
    """Volume for Pipes context and messages on serverless compute."""
    environment_version: str = "3"
    """Serverless environment version."""
    poll_interval_seconds: float = 5.0
    message_interval_seconds: float = 5.0
    timeout_seconds: int = 3600
    """Maximum run duration; Databricks cancels the run after it."""

    def _task_spec(self, task: str) -> jobs.SubmitTask:
        libraries = [
            compute.Library(whl=self.wheel_path),
            compute.Library(pypi=compute.PythonPyPiLibrary(package=PIPES_REQUIREMENT)),
        ]
        transport = "volumes" if self.compute == "serverless" else "dbfs"
        spec = jobs.SubmitTask(
            task_key=f"housemon_{task}",
            spark_python_task=jobs.SparkPythonTask(
                python_file=self.entrypoint_path, parameters=["--transport", transport]
            ),
        )
        if self.compute == "serverless":
            spec.environment_key = ENVIRONMENT_KEY
        elif self.existing_cluster_id:
            spec.existing_cluster_id = self.existing_cluster_id
            spec.libraries = libraries
        else:
            spec.new_cluster = compute.ClusterSpec(
                spark_version=self.spark_version,
                node_type_id=self.node_type_id,
                num_workers=self.num_workers,
                spark_env_vars={
                    "HOUSEMON_PIPES_INTERVAL_SECONDS": str(self.message_interval_seconds)
                },
            )
            spec.libraries = libraries
        return spec

    def _submit_args(self, task: str, context: dg.AssetExecutionContext) -> dict[str, Any]:
        args: dict[str, Any] = {
            "run_name": f"housemon {task} (dagster run {context.run.run_id[:8]})",
            "timeout_seconds": self.timeout_seconds,
        }
        if self.compute == "serverless":
            environment = compute.Environment(
                environment_version=self.environment_version,
                dependencies=[self.wheel_path, PIPES_REQUIREMENT],
            )
            args["environments"] = [
                jobs.JobEnvironment(environment_key=ENVIRONMENT_KEY, spec=environment)
            ]
        return args

    def _client(self) -> PipesDatabricksClient | PipesDatabricksServerlessClient:
        client = self.workspace.client()
        if self.compute == "serverless":
            reader = PipesUnityCatalogVolumesMessageReader(
                client=client, volume_path=self.volume_path, interval=self.message_interval_seconds
            )
            return PipesDatabricksServerlessClient(
                client=client,
                volume_path=self.volume_path,
                message_reader=reader,
                poll_interval_seconds=self.poll_interval_seconds,
            )
        reader = PipesDbfsMessageReader(
            client=client, interval=self.message_interval_seconds, include_stdio_in_messages=True
        )
        return PipesDatabricksClient(
            client=client, message_reader=reader, poll_interval_seconds=self.poll_interval_seconds
        )

    def run(
        self, context: dg.AssetExecutionContext, task: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        extras = {
            "task": task,
            "params": params,
            "catalog": self.tables.catalog,
            "schema": self.tables.schema_name,
        }
        context.log.info("Submitting task %s as a Databricks run on %s compute", task, self.compute)
        try:
            invocation = self._client().run(
                context=context,
                extras=extras,
                task=self._task_spec(task),
                submit_args=self._submit_args(task, context),
            )
        except DagsterPipesExecutionError as error:
            raise dg.Failure(f"Databricks run of task {task} failed: {error}") from error
        results = [
            message["result"]
            for message in invocation.get_custom_messages()
            if isinstance(message, dict) and message.get("task") == task and "result" in message
        ]
        if not results:
            raise dg.Failure(
                f"Databricks run of task {task} ended without reporting a result; "
                "check the run's driver logs"
            )
        run_id = invocation.metadata.get("Databricks Job Run ID")
        context.log.info(
            "Task %s finished in Databricks run %s", task, run_id.value if run_id else "?"
        )
        result = dict(results[-1])
        if run_id is not None:
            result["databricks_run_id"] = str(run_id.value)
        return result
