"""Ticks of the payload sensor on a real instance and a real Delta inference table."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test

from housemon_dagster.sensors import (
    PayloadCursor,
    SensorSettings,
    build_payload_sensor,
    load_sensor_settings,
)
from housemon_dagster_tests.sensors.conftest import (
    FakeClock,
    PayloadTable,
    sensor_resources,
    with_sensor,
)

SETTINGS = SensorSettings(
    tick_seconds=30, min_interval_seconds=60, min_new_rows=10, max_wait_seconds=300
)


class Ticker:
    """Evaluates ticks of one payload sensor in a row, passing each cursor to the next tick."""

    def __init__(self, location, instance, clock, settings=SETTINGS, cursor=None) -> None:
        self.sensor = build_payload_sensor(settings, clock=clock)
        self.definitions = with_sensor(location, self.sensor)
        self.instance = instance
        self.cursor = cursor

    def tick(self):
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            definitions=self.definitions,
            resources=sensor_resources(self.definitions),
        )
        result = self.sensor.evaluate_tick(context)
        self.cursor = result.cursor if result.cursor is not None else self.cursor
        return result


@pytest.fixture
def ticker(location, instance, clock) -> Ticker:
    return Ticker(location, instance, clock)


def test_missing_table_requests_nothing(ticker: Ticker) -> None:
    result = ticker.tick()
    assert result.run_requests == []
    assert "does not exist" in result.skip_message


def test_unchanged_table_requests_nothing(ticker: Ticker, payloads: PayloadTable) -> None:
    payloads.append(20)
    first = ticker.tick()
    second = ticker.tick()
    assert len(first.run_requests) == 1
    assert second.run_requests == []
    assert "no new payloads" in second.skip_message


def test_each_version_requests_one_run(
    ticker: Ticker, payloads: PayloadTable, clock: FakeClock
) -> None:
    keys = []
    for _ in range(3):
        version = payloads.append(20)
        result = ticker.tick()
        keys += [request.run_key for request in result.run_requests]
        assert result.run_requests[0].tags["housemon/inference_table_version"] == str(version)
        clock.advance(SETTINGS.min_interval_seconds)
        assert ticker.tick().run_requests == []
    assert len(keys) == 3
    assert len(set(keys)) == 3


def test_run_selects_monitoring_tables(ticker: Ticker, payloads: PayloadTable) -> None:
    payloads.append(20)
    request = ticker.tick().run_requests[0]
    assert request.asset_selection == [
        dg.AssetKey("model_monitoring"),
        dg.AssetKey("model_monitoring_quarantine"),
    ]


def test_burst_of_appends_requests_one_run(ticker: Ticker, payloads: PayloadTable) -> None:
    for _ in range(25):
        last = payloads.append(1)
    result = ticker.tick()
    assert len(result.run_requests) == 1
    assert result.run_requests[0].tags["housemon/new_payload_rows"] == "25"
    assert result.run_requests[0].tags["housemon/inference_table_version"] == str(last)


def test_minimum_interval_holds(ticker: Ticker, payloads: PayloadTable, clock: FakeClock) -> None:
    payloads.append(20)
    assert len(ticker.tick().run_requests) == 1
    payloads.append(20)
    clock.advance(SETTINGS.min_interval_seconds - 1)
    early = ticker.tick()
    clock.advance(1)
    due = ticker.tick()
    assert early.run_requests == []
    assert "minimum interval" in early.skip_message
    assert len(due.run_requests) == 1


def test_row_minimum_holds_until_max_wait(
    ticker: Ticker, payloads: PayloadTable, clock: FakeClock
) -> None:
    payloads.append(SETTINGS.min_new_rows - 1)
    below = ticker.tick()
    clock.advance(SETTINGS.max_wait_seconds - 1)
    still_waiting = ticker.tick()
    clock.advance(1)
    waited_enough = ticker.tick()
    assert below.run_requests == []
    assert "below the minimum" in below.skip_message
    assert still_waiting.run_requests == []
    assert len(waited_enough.run_requests) == 1


def test_trickle_reaches_row_minimum(
    ticker: Ticker, payloads: PayloadTable, clock: FakeClock
) -> None:
    requested = []
    for _ in range(SETTINGS.min_new_rows):
        payloads.append(1)
        clock.advance(1)
        requested.append(len(ticker.tick().run_requests))
    assert requested == [0] * (SETTINGS.min_new_rows - 1) + [1]


def test_cursor_survives_restart(
    location, instance, clock: FakeClock, payloads: PayloadTable
) -> None:
    before = Ticker(location, instance, clock)
    payloads.append(20)
    first = before.tick()
    payloads.append(4)
    waiting = before.tick()
    saved = before.cursor
    payloads.append(6)
    clock.advance(SETTINGS.min_interval_seconds)
    after = Ticker(location, instance, clock, cursor=saved)
    resumed = after.tick()
    assert len(first.run_requests) == 1
    assert waiting.run_requests == []
    assert json.loads(saved)["pending_rows"] == 4
    assert len(resumed.run_requests) == 1
    assert resumed.run_requests[0].tags["housemon/new_payload_rows"] == "10"
    assert resumed.run_requests[0].run_key != first.run_requests[0].run_key


def test_in_progress_refresh_defers_run(ticker: Ticker, instance, payloads: PayloadTable) -> None:
    run = create_run_for_test(
        instance, job_name="refresh_monitoring", status=dg.DagsterRunStatus.STARTED
    )
    payloads.append(20)
    deferred = ticker.tick()
    instance.report_run_failed(run)
    resumed = ticker.tick()
    assert deferred.run_requests == []
    assert run.run_id in deferred.skip_message
    assert len(resumed.run_requests) == 1


def test_tick_observes_table_version(ticker: Ticker, payloads: PayloadTable) -> None:
    version = payloads.append(20)
    first = ticker.tick()
    second = ticker.tick()
    observations = [e for e in first.asset_events if isinstance(e, dg.AssetObservation)]
    assert [o.asset_key for o in observations] == [dg.AssetKey("serving_payloads")]
    assert observations[0].tags["dagster/data_version"] == str(version)
    assert second.asset_events == []


def test_recreated_table_counts_afresh(
    ticker: Ticker, payloads: PayloadTable, clock: FakeClock
) -> None:
    for _ in range(5):
        payloads.append(20)
    first = ticker.tick()
    clock.advance(SETTINGS.min_interval_seconds)
    shutil.rmtree(payloads.store.path(payloads.name))
    for rows in (8, 2, 2):
        payloads.append(rows)
    recreated = ticker.tick()
    clock.advance(SETTINGS.min_interval_seconds)
    for rows in (10, 10):
        version = payloads.append(rows)
    grown = ticker.tick()
    assert len(recreated.run_requests) == 1
    assert recreated.run_requests[0].tags["housemon/new_payload_rows"] == "12"
    assert version == 4
    assert len(grown.run_requests) == 1
    assert grown.run_requests[0].run_key != first.run_requests[0].run_key


def test_cursor_rejects_invalid_json() -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        PayloadCursor.parse("{version: 3")


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("HOUSEMON_SENSOR_TICK_SECONDS", "5", "tick_seconds", 5),
        ("HOUSEMON_SENSOR_MIN_INTERVAL_SECONDS", "12.5", "min_interval_seconds", 12.5),
        ("HOUSEMON_SENSOR_MIN_NEW_ROWS", "3", "min_new_rows", 3),
        ("HOUSEMON_SENSOR_MAX_WAIT_SECONDS", "0", "max_wait_seconds", 0.0),
    ],
)
def test_settings_read_environment(monkeypatch, variable, value, field, expected) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(load_sensor_settings(), field) == expected


@pytest.mark.parametrize("value", ["soon", "0"])
def test_settings_reject_invalid_rows(monkeypatch, value) -> None:
    monkeypatch.setenv("HOUSEMON_SENSOR_MIN_NEW_ROWS", value)
    with pytest.raises(ValueError, match="HOUSEMON_SENSOR_MIN_NEW_ROWS"):
        load_sensor_settings()
