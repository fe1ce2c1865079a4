"""Spark tasks as Databricks runs through Pipes: serverless volumes and failing runs."""

import dagster as dg

from housemon_dagster.databricks.resources import DatabricksTables
from housemon_dagster.databricks.tasks import DatabricksSparkTasks
from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster_tests.databricks.conftest import WORKSPACE_ENTRYPOINT, WORKSPACE_WHEEL
from housemon_dagster_tests.databricks.emulator import Emulator


def _run_task(workspace: DatabricksWorkspace, task: str, **fields) -> dg.ExecuteInProcessResult:
    tables = DatabricksTables(workspace=workspace)
    spark_tasks = DatabricksSparkTasks(
        workspace=workspace,
        tables=tables,
        entrypoint_path=WORKSPACE_ENTRYPOINT,
        wheel_path=WORKSPACE_WHEEL,
        poll_interval_seconds=0.3,
        message_interval_seconds=0.3,
        **fields,
    )

    @dg.asset
    def task_result(
        context: dg.AssetExecutionContext, spark_tasks: DatabricksSparkTasks
    ) -> dg.MaterializeResult:
        result = spark_tasks.run(context, task, {})
        return dg.MaterializeResult(metadata={"result": dg.MetadataValue.json(result)})

    return dg.materialize(
        [task_result], resources={"spark_tasks": spark_tasks}, raise_on_error=False
    )


def test_serverless_run_through_volumes(workspace: DatabricksWorkspace, emulator: Emulator) -> None:
    result = _run_task(
        workspace,
        "prepare_data",
        compute="serverless",
        volume_path="/Volumes/mlops_dev/house_prices/pipes",
    )
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["result"].value["train_rows"] > 0
    submitted = emulator.state.requests_to("POST", "/api/2.2/jobs/runs/submit")[0].body
    assert "--dagster-pipes-context" in submitted["tasks"][0]["spark_python_task"]["parameters"]
    assert submitted["environments"][0]["spec"]["dependencies"][0] == WORKSPACE_WHEEL
    assert emulator.state.requests_to(
        "PUT", "/api/2.0/fs/files/Volumes/mlops_dev/house_prices/pipes/"
    )
    assert emulator.state.store.exists("mlops_dev.house_prices.train_set")


def test_failed_run_fails_step(workspace: DatabricksWorkspace, emulator: Emulator) -> None:
    result = _run_task(workspace, "no_such_task", existing_cluster_id="0101-emulated")
    submitted = emulator.state.requests_to("POST", "/api/2.2/jobs/runs/submit")[0].body["tasks"][0]
    assert submitted["existing_cluster_id"] == "0101-emulated"
    assert "--dagster-pipes-context" in submitted["spark_python_task"]["parameters"]
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "Databricks run of task no_such_task failed" in message
    # The task name is checked inside the Pipes session, so this message also shows that
    # the run opened Pipes through command-line arguments and DBFS.
    assert "unknown task" in message
