"""The whole monitoring loop on the Databricks platform, against the emulator."""

from __future__ import annotations

import dagster as dg
import pytest

from housemon_dagster.settings import load_settings
from housemon_dagster_tests.databricks.emulator import Emulator

FEATURES = "mlops_dev.house_prices.house_features"
RUN_CONFIG = {
    "ops": {
        "request_traffic": {
            "config": {"phase_seconds": 3.0, "interval_seconds": 0.05, "max_requests_per_phase": 10}
        },
        "inference_sets": {"config": {"normal_rows": 200, "skewed_rows": 200}},
    }
}


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def _posts(emulator: Emulator, path: str) -> list:
    return [r for r in emulator.state.requests if r.method == "POST" and r.path == path]


@pytest.fixture
def definitions(emulator: Emulator) -> dg.Definitions:
    from housemon_dagster.definitions import build_definitions

    emulator.provision_synced_table(f"{FEATURES}_online", FEATURES)
    return build_definitions(load_settings())


def test_pipeline_runs_on_emulator(definitions: dg.Definitions, emulator: Emulator) -> None:
    instance = dg.DagsterInstance.ephemeral()
    job = definitions.resolve_job_def("monitoring_pipeline")
    result = job.execute_in_process(run_config=RUN_CONFIG, instance=instance, raise_on_error=False)
    failures = [
        f"{e.step_key}: {e.event_specific_data.error.message}"
        for e in result.all_events
        if e.is_step_failure
    ]
    assert failures == []
    assert result.success
    materialized = _materialized(result)
    for asset in (
        "train_set",
        "house_features",
        "model_monitoring",
        "model_monitoring_profile_metrics",
        "alert_evaluations",
    ):
        assert asset in materialized, asset

    assert emulator.state.unknown_requests == []
    submits = emulator.state.requests_to("POST", "/api/2.2/jobs/runs/submit")
    assert len(submits) == 5
    assert all(run["state"]["result_state"] == "SUCCESS" for run in emulator.state.runs.values())
    task = submits[0].body["tasks"][0]
    assert task["spark_python_task"]["python_file"].endswith("entrypoint.py")
    assert {"whl", "pypi"} <= {key for library in task["libraries"] for key in library}
    assert "DAGSTER_PIPES_CONTEXT" in task["new_cluster"]["spark_env_vars"]
    store = emulator.state.store
    assert store.read_arrow("mlops_dev.house_prices.model_monitoring").num_rows > 0
    payloads = store.read_arrow("mlops_dev.house_prices.house-prices-model-serving-fe_payload")
    assert payloads.num_rows == _metadata(result, "request_traffic")["requests"]
    assert _metadata(result, "request_traffic")["failed_requests"] == 0
    evaluation = _metadata(result, "alert_evaluations")
    assert evaluation["state"] in ("OK", "TRIGGERED")
    assert isinstance(evaluation["value"], float)

    setup = definitions.resolve_job_def("setup_monitoring").execute_in_process(instance=instance)
    assert setup.success
    assert _metadata(setup, "quality_monitor")["action"] == "unchanged"
    assert _metadata(setup, "model_quality_alert")["action"] == "unchanged"
    monitor_path = "/api/2.1/unity-catalog/tables/mlops_dev.house_prices.model_monitoring/monitor"
    assert len(_posts(emulator, monitor_path)) == 1
    assert len(_posts(emulator, "/api/2.0/alerts")) == 1
    assert len(emulator.state.alerts) == 1
