"""The monitoring loop under ``dagster dev``: sensors alone carry new payloads to the alert.

The setup runs ``monitoring_pipeline`` once with short traffic, so every table exists.
Then ``dagster dev`` (webserver and daemon) runs with its sensors on, the test sends
requests to a local endpoint, and waits until the monitoring table, the metric tables
and the alert evaluations follow without any run started by hand. A run still going
at that point (the sensors may start a refresh that finds nothing new) is stopped
with ``dagster dev``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import httpx
import pytest

from housemon_dagster.core.traffic import request_records
from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.local.serving.lifecycle import LocalEndpoint
from housemon_dagster.sensors import IN_PROGRESS
from housemon_dagster.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 40
SETUP_TIMEOUT_SECONDS = 600
LOOP_TIMEOUT_SECONDS = 360
POLL_SECONDS = 5
SENSOR_ENVIRONMENT = {
    "HOUSEMON_SENSOR_TICK_SECONDS": "5",
    "HOUSEMON_SENSOR_MIN_INTERVAL_SECONDS": "10",
    "HOUSEMON_SENSOR_MIN_NEW_ROWS": "1",
    "HOUSEMON_SENSOR_MAX_WAIT_SECONDS": "0",
    "HOUSEMON_TRAFFIC_PHASE_SECONDS": "3",
    "HOUSEMON_ALERT_CHANNEL": "log",
}
SENSORS = (
    "serving_payloads_sensor",
    "model_monitoring_sensor",
    "model_monitoring_profile_metrics_sensor",
)
# Telemetry stays off so that nothing leaves the machine.
DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dagster_command() -> str:
    command = shutil.which("dagster", path=os.path.dirname(sys.executable))
    assert command is not None, "the dagster command is not installed next to this interpreter"
    return command


@dataclass
class Loop:
    settings: Settings
    environment: dict[str, str]
    dagster_home: Path
    logs: Path

    @property
    def store(self) -> DeltaTableStore:
        return DeltaTableStore(self.settings.warehouse)

    def table(self, name: str) -> str:
        return self.settings.table(name)


def run_setup(environment: dict[str, str], log_path: Path) -> None:
    """Run ``monitoring_pipeline`` with ``dagster job execute`` in the given environment."""
    command = [dagster_command(), "job", "execute", "-m", "housemon_dagster", "-j"]
    with open(log_path, "wb") as output:
        setup = subprocess.run(
            [*command, "monitoring_pipeline"],
            cwd=REPO_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=SETUP_TIMEOUT_SECONDS,
            check=False,
        )
    assert setup.returncode == 0, f"monitoring_pipeline failed; see {log_path}"


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Loop:
    """A local platform where ``monitoring_pipeline`` has run once."""
    root = tmp_path_factory.mktemp("loop")
    dagster_home = root / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
    environment = {
        **os.environ,
        **SENSOR_ENVIRONMENT,
        "HOUSEMON_HOME": str(root / "home"),
        "HOUSEMON_PLATFORM": "local",
        "DAGSTER_HOME": str(dagster_home),
        "HOUSEMON_ENDPOINT_PORT": str(free_port()),
    }
    logs = root / "logs"
    logs.mkdir()
    run_setup(environment, logs / "setup.log")

    settings = Settings(platform="local", home=root / "home")
    return Loop(settings, environment, dagster_home, logs)


@pytest.fixture(scope="module")
def dagster_dev(loop: Loop) -> Iterator[str]:
    """``dagster dev`` on loopback with a free port; stopped with its whole process group."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [dagster_command(), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with open(loop.logs / "dagster-dev.log", "wb") as output:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=loop.environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(
                lambda: _webserver_ready(url), timeout=120, description=f"dagster dev on {url}"
            )
            yield url
        finally:
            _stop_group(process)


def _webserver_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/server_info", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stop_group(process: subprocess.Popen) -> None:
    """Stop ``dagster dev``, its daemon, code server and run workers; kill them after 30 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def wait_until(condition: Callable[[], bool], *, timeout: float, description: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{description} was not reached within {timeout:.0f} s")


def request_ids(loop: Loop, table: str) -> list[str]:
    name = loop.table(table)
    if not loop.store.exists(name):
        return []
    column = loop.store.read_arrow(name, columns=["databricks_request_id"])
    return column["databricks_request_id"].to_pylist()


def table_version(loop: Loop, table: str) -> int:
    version = loop.store.version(loop.table(table))
    return -1 if version is None else version


@dataclass
class Snapshot:
    payload_ids: list[str]
    monitored_ids: list[str]
    quarantined_ids: list[str]
    profile_version: int
    drift_version: int
    evaluations: int


def snapshot(loop: Loop) -> Snapshot:
    evaluations = loop.table("alert_evaluations")
    return Snapshot(
        payload_ids=request_ids(loop, "house-prices-model-serving-fe_payload"),
        monitored_ids=request_ids(loop, "model_monitoring"),
        quarantined_ids=request_ids(loop, "model_monitoring_quarantine"),
        profile_version=table_version(loop, "model_monitoring_profile_metrics"),
        drift_version=table_version(loop, "model_monitoring_drift_metrics"),
        evaluations=loop.store.read_arrow(evaluations).num_rows
        if loop.store.exists(evaluations)
        else 0,
    )


def send_requests(loop: Loop) -> int:
    """Score ``REQUESTS`` test-set records one per request; return how many got HTTP 200."""
    frame = loop.store.read_pandas(loop.table("test_set"))
    records = request_records(frame)[:REQUESTS]
    endpoint = LocalEndpoint(loop.settings, port=free_port(), log_path=loop.logs / "endpoint.log")
    with endpoint, endpoint.client() as client:
        statuses = [client.score([record])[0] for record in records]
        client.flush()
    return statuses.count(200)


def caught_up(loop: Loop, before: Snapshot) -> bool:
    now = snapshot(loop)
    counted = set(now.monitored_ids) | set(now.quarantined_ids)
    return (
        set(now.payload_ids) <= counted
        and now.profile_version > before.profile_version
        and now.drift_version > before.drift_version
        and now.evaluations > before.evaluations
    )


def runs(loop: Loop, filters: dg.RunsFilter) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(loop.dagster_home)) as instance:
        return instance.get_runs(filters=filters)


def ended_sensor_runs(loop: Loop, sensor: str) -> list[str]:
    """Return the statuses of the runs ``sensor`` started that have ended."""
    filters = dg.RunsFilter(tags={"dagster/sensor_name": sensor})
    return [run.status.value for run in runs(loop, filters) if run.status not in IN_PROGRESS]


@pytest.mark.slow
def test_sensors_carry_payloads_to_alert(loop: Loop, dagster_dev: str) -> None:
    before = snapshot(loop)
    ok = send_requests(loop)
    sent = snapshot(loop)
    wait_until(
        lambda: caught_up(loop, sent),
        timeout=LOOP_TIMEOUT_SECONDS,
        description=f"monitoring of {len(sent.payload_ids)} payloads (logs in {loop.logs})",
    )
    after = snapshot(loop)
    monitored, quarantined = after.monitored_ids, after.quarantined_ids
    assert ok == REQUESTS
    assert len(sent.payload_ids) == len(before.payload_ids) + REQUESTS
    assert len(monitored) == len(set(monitored))
    assert len(quarantined) == len(set(quarantined))
    assert set(monitored).isdisjoint(quarantined)
    assert set(monitored) | set(quarantined) == set(after.payload_ids)
    for sensor in SENSORS:
        statuses = ended_sensor_runs(loop, sensor)
        assert statuses, f"{sensor} started no run that ended"
        assert set(statuses) == {"SUCCESS"}, f"runs of {sensor} ended {statuses}"
    assert ended_sensor_runs(loop, "house_features_sensor") == []
