"""The code location loads and exposes the jobs and groups users rely on."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from housemon_dagster.definitions import build_definitions
from housemon_dagster.settings import SettingsError, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
GROUPS = {
    "source": {"train_set", "test_set"},
    "inference_data": {"inference_set_normal", "inference_set_skewed"},
    "features": {"house_features", "online_feature_store"},
    "model": {"house_prices_model_fe", "model_serving_endpoint"},
    "traffic": {"request_traffic", "serving_payloads"},
    "monitoring": {
        "model_monitoring",
        "model_monitoring_quarantine",
        "quality_monitor",
        "model_monitoring_profile_metrics",
        "model_monitoring_drift_metrics",
    },
    "alerting": {"model_quality_alert", "alert_evaluations"},
}
JOBS = {
    "monitoring_pipeline",
    "create_inference_data",
    "send_requests",
    "refresh_monitoring",
    "setup_monitoring",
}


def test_assets_grouped_by_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("HOUSEMON_HOME", str(tmp_path))
    graph = build_definitions(load_settings()).resolve_asset_graph()
    groups: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        group = graph.get(key).group_name
        groups.setdefault(group, set()).add(key.to_user_string())
    assert groups == GROUPS


def test_required_jobs_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("HOUSEMON_HOME", str(tmp_path))
    defs = build_definitions(load_settings())
    names = {job.name for job in defs.jobs}
    assert JOBS <= names


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HOUSEMON_PLATFORM", "aws", "HOUSEMON_PLATFORM='aws' is not supported"),
        ("HOUSEMON_CATALOG", "my-catalog", "HOUSEMON_CATALOG='my-catalog' is not a valid"),
    ],
)
def test_bad_setting_is_named(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HOUSEMON_MONITOR_GRANULARITIES", "5 min", "HOUSEMON_MONITOR_GRANULARITIES: granularity"),
        ("HOUSEMON_TRAFFIC_PHASE_SECONDS", "abc", "HOUSEMON_TRAFFIC_PHASE_SECONDS='abc'"),
        ("HOUSEMON_TRAFFIC_PHASE_SECONDS", "-1", "must be at least 1"),
        ("HOUSEMON_ALERT_PERCENT", "x", "HOUSEMON_ALERT_PERCENT='x' is not a number"),
    ],
)
def test_bad_setting_fails_at_load(tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv("HOUSEMON_HOME", str(tmp_path))
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        build_definitions(load_settings())


def test_workspace_validates(tmp_path):
    env = {**os.environ, "HOUSEMON_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Validation successful for code location housemon_dagster" in result.stdout + result.stderr
