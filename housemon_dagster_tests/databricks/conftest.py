"""Fixtures of the Databricks platform tests: the emulator and an environment aimed at it.

Every ``DATABRICKS_*`` variable is cleared and token auth is forced, so no test can
fall back to a real host, a config profile or cloud metadata auth.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from housemon_dagster.databricks.workspace import DatabricksWorkspace
from housemon_dagster_tests.databricks.emulator import Emulator

ENTRYPOINT = (
    Path(__file__).resolve().parents[2] / "housemon_dagster" / "databricks" / "entrypoint.py"
)
WORKSPACE_ENTRYPOINT = "/Workspace/Shared/housemon/files/entrypoint.py"
WORKSPACE_WHEEL = "/Workspace/Shared/housemon/artifacts/housemon-0.1.0-py3-none-any.whl"
WAREHOUSE_ID = "emulated-warehouse"


def _aim_environment(monkeypatch: pytest.MonkeyPatch, emulator: Emulator, home: Path) -> None:
    for variable in list(os.environ):
        if variable.startswith(("DATABRICKS_", "HOUSEMON_")):
            monkeypatch.delenv(variable)
    values = {
        "DATABRICKS_HOST": emulator.host,
        "DATABRICKS_TOKEN": emulator.token,
        "DATABRICKS_AUTH_TYPE": "pat",
        "DATABRICKS_CONFIG_FILE": str(home / "no-databrickscfg"),
        "DATABRICKS_WAREHOUSE_ID": WAREHOUSE_ID,
        "HOUSEMON_PLATFORM": "databricks",
        "HOUSEMON_HOME": str(home),
        "HOUSEMON_DATABRICKS_POLL_SECONDS": "0.3",
        "HOUSEMON_DATABRICKS_ENTRYPOINT": WORKSPACE_ENTRYPOINT,
        "HOUSEMON_DATABRICKS_WHEEL": WORKSPACE_WHEEL,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def _start(root: Path) -> Emulator:
    emulator = Emulator(root).start()
    script = emulator.state.local_path(WORKSPACE_ENTRYPOINT)
    script.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ENTRYPOINT, script)
    return emulator


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A fresh emulator per test, with the environment aimed at it."""
    running = _start(tmp_path / "emulator")
    _aim_environment(monkeypatch, running, tmp_path / "home")
    yield running
    running.stop()


@pytest.fixture
def workspace(emulator: Emulator) -> DatabricksWorkspace:
    """A workspace resource with fast retries, resolving host and token from the environment."""
    return DatabricksWorkspace(
        warehouse_id=WAREHOUSE_ID, backoff_seconds=0.05, retry_timeout_seconds=20
    )


@pytest.fixture
def context() -> dg.AssetExecutionContext:
    return dg.build_asset_context()
