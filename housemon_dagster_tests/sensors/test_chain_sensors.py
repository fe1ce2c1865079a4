"""Ticks of the asset sensors that chain monitoring, metrics, the alert and the online store."""

from __future__ import annotations

import dagster as dg
import pytest

from housemon_dagster.jobs import refresh_monitor_metrics
from housemon_dagster.sensors import SensorSettings, build_chain_sensor, build_sensors
from housemon_dagster_tests.sensors.conftest import with_sensor

UPSTREAM = "model_monitoring"
DOWNSTREAM = "model_monitoring_profile_metrics"


class ChainTicker:
    def __init__(self, location, instance) -> None:
        self.sensor = build_chain_sensor(
            upstream=UPSTREAM,
            downstream=DOWNSTREAM,
            job=refresh_monitor_metrics,
            settings=SensorSettings(),
        )
        self.definitions = with_sensor(location, self.sensor)
        self.instance = instance
        self.cursor: str | None = None

    def tick(self):
        context = dg.build_sensor_context(
            instance=self.instance, cursor=self.cursor, definitions=self.definitions
        )
        result = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor if result.cursor is not None else self.cursor
        return result


@pytest.fixture
def ticker(location, instance) -> ChainTicker:
    return ChainTicker(location, instance)


def materialize(instance: dg.DagsterInstance, key: str) -> int:
    """Record a materialization of ``key``; return its storage id."""
    instance.report_runless_asset_event(dg.AssetMaterialization(key))
    return instance.fetch_materializations(dg.AssetKey(key), limit=1).records[0].storage_id


def test_no_materialization_requests_nothing(ticker: ChainTicker) -> None:
    result = ticker.tick()
    assert result.run_requests == []


def test_materialization_requests_one_run(ticker: ChainTicker, instance) -> None:
    storage_id = materialize(instance, UPSTREAM)
    first = ticker.tick()
    second = ticker.tick()
    assert [r.run_key for r in first.run_requests] == [f"{UPSTREAM}:{storage_id}"]
    assert second.run_requests == []


def test_materialization_burst_requests_one_run(ticker: ChainTicker, instance) -> None:
    for _ in range(5):
        last = materialize(instance, UPSTREAM)
    result = ticker.tick()
    assert [r.run_key for r in result.run_requests] == [f"{UPSTREAM}:{last}"]


def test_each_new_materialization_requests_a_run(ticker: ChainTicker, instance) -> None:
    keys = []
    for _ in range(3):
        materialize(instance, UPSTREAM)
        keys += [r.run_key for r in ticker.tick().run_requests]
    assert len(set(keys)) == 3


def test_newer_downstream_skips(ticker: ChainTicker, instance) -> None:
    materialize(instance, UPSTREAM)
    materialize(instance, DOWNSTREAM)
    result = ticker.tick()
    assert result.run_requests == []
    assert "newer" in result.skip_message


def test_run_planning_downstream_skips(ticker: ChainTicker, instance) -> None:
    @dg.asset(name=UPSTREAM)
    def monitoring() -> None:
        return None

    @dg.asset(name=DOWNSTREAM, deps=[UPSTREAM])
    def metrics() -> None:
        raise RuntimeError("metrics step fails after its run was planned")

    run = dg.materialize([monitoring, metrics], instance=instance, raise_on_error=False)
    result = ticker.tick()
    assert result.run_requests == []
    assert run.run_id in result.skip_message


def test_cursor_advances_past_skipped_event(ticker: ChainTicker, instance) -> None:
    materialize(instance, UPSTREAM)
    materialize(instance, DOWNSTREAM)
    ticker.tick()
    later = materialize(instance, UPSTREAM)
    result = ticker.tick()
    assert [r.run_key for r in result.run_requests] == [f"{UPSTREAM}:{later}"]


def test_all_sensors_run_by_default() -> None:
    sensors = build_sensors(SensorSettings())
    statuses = {s.name: s.default_status for s in sensors}
    assert statuses == {
        "serving_payloads_sensor": dg.DefaultSensorStatus.RUNNING,
        "model_monitoring_sensor": dg.DefaultSensorStatus.RUNNING,
        "model_monitoring_profile_metrics_sensor": dg.DefaultSensorStatus.RUNNING,
        "house_features_sensor": dg.DefaultSensorStatus.RUNNING,
    }


def test_sensors_target_their_jobs() -> None:
    targets = {s.name: s.job_name for s in build_sensors(SensorSettings())}
    assert targets == {
        "serving_payloads_sensor": "refresh_monitoring",
        "model_monitoring_sensor": "refresh_monitor_metrics",
        "model_monitoring_profile_metrics_sensor": "evaluate_alert",
        "house_features_sensor": "refresh_online_store",
    }
