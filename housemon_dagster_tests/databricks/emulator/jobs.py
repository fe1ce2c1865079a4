"""One-off runs (``/api/2.2/jobs/runs``): each task runs its Python file in a subprocess.

The subprocess plays a cluster driver: its ``/dbfs`` and ``/Volumes`` mounts are
folders under the emulator root, Spark is local, tables are the local Delta
warehouse and the model registry is the local one. It can import housemon only
when the task installs a wheel, as a real cluster could.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from housemon_dagster_tests.databricks.emulator.http import ApiError, not_found, route
from housemon_dagster_tests.databricks.emulator.state import EmulatorState

REPO_ROOT = Path(__file__).resolve().parents[3]
# One run at a time: each one starts a JVM for local Spark.
RUN_SLOTS = threading.Semaphore(1)
SPARK_ARGS = (
    "--master local[1] --driver-memory 1g --conf spark.ui.enabled=false "
    "--conf spark.sql.session.timeZone=UTC --conf spark.sql.shuffle.partitions=2 "
    "--conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 "
    "--conf spark.sql.execution.arrow.pyspark.enabled=true --conf spark.sql.ansi.enabled=false "
    # Databricks sets these usage tags on every cluster; the Pipes DBFS writer reads them.
    "--conf spark.databricks.clusterUsageTags.clusterLogDeliveryEnabled=true "
    "--conf spark.databricks.clusterUsageTags.clusterLogDestination=dbfs:/cluster-logs "
    "--conf spark.databricks.clusterUsageTags.clusterId=emulated-cluster "
    "pyspark-shell"
)


def _installs_wheel(task: dict[str, Any], environments: list[dict[str, Any]]) -> bool:
    if any("whl" in library for library in task.get("libraries", [])):
        return True
    for environment in environments:
        if environment.get("environment_key") == task.get("environment_key"):
            return any(
                d.endswith(".whl") for d in environment.get("spec", {}).get("dependencies", [])
            )
    return False


def driver_environment(state: EmulatorState, task: dict[str, Any], wheel: bool) -> dict[str, str]:
    keep = ("PATH", "HOME", "JAVA_HOME", "LANG", "TMPDIR")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(task.get("new_cluster", {}).get("spark_env_vars", {}))
    env.update(
        {
            "HOUSEMON_DBFS_FUSE_ROOT": str(state.dbfs_root),
            "HOUSEMON_VOLUMES_FUSE_ROOT": str(state.root),
            "HOUSEMON_LOCAL_WAREHOUSE": str(state.warehouse),
            "HOUSEMON_LOCAL_MODEL_REGISTRY": str(state.root / "models"),
            "PYSPARK_SUBMIT_ARGS": SPARK_ARGS,
            "PYTHONUNBUFFERED": "1",
        }
    )
    if wheel:
        env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def _set_state(
    run: dict[str, Any], life_cycle: str, result: str | None = None, message: str = ""
) -> None:
    run["state"] = {"life_cycle_state": life_cycle, "state_message": message}
    if result:
        run["state"]["result_state"] = result
    for task in run["tasks"]:
        task["state"] = dict(run["state"])


def execute(state: EmulatorState, run: dict[str, Any], environments: list[dict[str, Any]]) -> None:
    task = run["tasks"][0]
    python_task = task.get("spark_python_task")
    if python_task is None:
        _set_state(
            run, "INTERNAL_ERROR", "FAILED", "the emulator runs spark_python_task tasks only"
        )
        return
    source = python_task["python_file"]
    script = state.dbfs_path(source) if source.startswith("dbfs:") else state.local_path(source)
    with RUN_SLOTS:
        if run.get("cancel_requested"):
            _set_state(run, "TERMINATED", "CANCELED", "canceled before start")
            return
        _set_state(run, "RUNNING")
        log_path = state.root / "runs" / f"{run['run_id']}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, str(script), *python_task.get("parameters", [])],
                env=driver_environment(state, task, _installs_wheel(task, environments)),
                cwd=state.root,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            run["process"] = process
            code = process.wait(timeout=run.get("timeout_seconds") or 900)
    _set_state(run, "TERMINATING")
    time.sleep(0.2)
    if run.get("cancel_requested"):
        _set_state(run, "TERMINATED", "CANCELED", "run canceled")
    elif code == 0:
        _set_state(run, "TERMINATED", "SUCCESS")
    else:
        tail = log_path.read_text().strip().splitlines()[-3:]
        _set_state(run, "TERMINATED", "FAILED", " | ".join(tail) or f"exit code {code}")


def submit(state: EmulatorState, request: Request, body: Any) -> dict:
    tasks = body.get("tasks") or []
    if len(tasks) != 1:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "the emulator runs single-task submissions")
    for task in tasks:
        has_compute = (
            task.get("new_cluster")
            or task.get("existing_cluster_id")
            or task.get("environment_key")
        )
        if not has_compute:
            raise ApiError(
                400, "INVALID_PARAMETER_VALUE", f"task {task.get('task_key')} has no compute"
            )
    run_id = state.next_id()
    run = {
        "run_id": run_id,
        "run_name": body.get("run_name"),
        "timeout_seconds": body.get("timeout_seconds"),
        "run_page_url": f"https://emulator.invalid/#job/runs/{run_id}",
        "tasks": [{"task_key": t["task_key"], "run_id": run_id * 100} for t in tasks],
        "submitted": tasks,
    }
    _set_state(run, "PENDING")
    state.runs[run_id] = run
    run["tasks"][0].update(tasks[0])
    worker = threading.Thread(
        target=execute, args=(state, run, body.get("environments", [])), daemon=True
    )
    worker.start()
    return {"run_id": run_id}


def get_run(state: EmulatorState, request: Request, body: Any) -> dict:
    run_id = int(request.query_params["run_id"])
    run = state.runs.get(run_id)
    if run is None:
        raise not_found("Run", str(run_id), "INVALID_PARAMETER_VALUE")
    return {key: value for key, value in run.items() if key not in ("process", "submitted")}


def cancel_run(state: EmulatorState, request: Request, body: Any) -> dict:
    run = state.runs.get(int(body["run_id"]))
    if run is None:
        raise not_found("Run", str(body["run_id"]), "INVALID_PARAMETER_VALUE")
    run["cancel_requested"] = True
    process = run.get("process")
    if process is not None and process.poll() is None:
        process.terminate()
    return {}


def routes(state: EmulatorState) -> list[Route]:
    return [
        route(state, "/api/2.2/jobs/runs/submit", submit, ["POST"]),
        route(state, "/api/2.2/jobs/runs/get", get_run, ["GET"]),
        route(state, "/api/2.2/jobs/runs/cancel", cancel_run, ["POST"]),
    ]
