"""The ``housemon monitor`` command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from housemon_dagster.cli import main
from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.monitor import MonitorConfig, create_or_update_monitor
from housemon_dagster_tests.monitor.conftest import TABLE, make_requests


@pytest.fixture
def home(tmp_path: Path, config: MonitorConfig) -> Path:
    store = DeltaTableStore(tmp_path / "warehouse")
    store.write(TABLE, make_requests(120, seed=6), mode="append")
    create_or_update_monitor(
        store, MonitorConfig.from_dict({**config.to_dict(), "baseline_table": None})
    )
    return tmp_path


def test_refresh_prints_tables(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "refresh", TABLE, "--home", str(home)]) == 0
    output = capsys.readouterr().out
    assert output.startswith("SUCCESS: full refresh")
    assert "main.monitoring.requests_profile_metrics" in output


def test_refresh_again_is_incremental(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["monitor", "refresh", TABLE, "--home", str(home)])
    capsys.readouterr()
    assert main(["monitor", "refresh", TABLE, "--home", str(home)]) == 0
    assert "incremental refresh" in capsys.readouterr().out
    assert main(["monitor", "refresh", TABLE, "--full", "--home", str(home)]) == 0
    assert "full refresh" in capsys.readouterr().out


def test_home_from_environment(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOUSEMON_HOME", str(home))
    assert main(["monitor", "show", TABLE]) == 0
    details = json.loads(capsys.readouterr().out)
    assert details["monitor_version"] == 1
    assert details["config"]["table_name"] == TABLE


def test_missing_table_names_table_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitor", "refresh", "main.monitoring.nothing", "--home", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "main.monitoring.nothing not found" in error
    assert "--home" in error


def test_missing_monitor_names_table_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    DeltaTableStore(tmp_path / "warehouse").write(TABLE, make_requests(5, seed=1), mode="append")
    assert main(["monitor", "show", TABLE, "--home", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"table {TABLE} has no monitor" in error
    assert "create_or_update_monitor" in error


def test_invalid_table_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "show", "requests", "--home", str(tmp_path)]) == 2
    assert "<catalog>.<schema>.<table>" in capsys.readouterr().err
