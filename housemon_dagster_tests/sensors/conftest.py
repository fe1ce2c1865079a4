"""Fixtures of the sensor tests: a real Dagster instance and a real Delta inference table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from housemon_dagster.definitions import build_definitions
from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.settings import Settings


class FakeClock:
    """A clock the tests move by hand, in Unix seconds."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class PayloadTable:
    """An inference table with the endpoint's id, time, status and body columns."""

    def __init__(self, settings: Settings) -> None:
        self.store = DeltaTableStore(settings.warehouse)
        self.name = settings.inference_table

    def append(self, rows: int) -> int:
        """Append ``rows`` payloads in one commit; return the new table version."""
        frame = pd.DataFrame(
            {
                "databricks_request_id": [str(uuid.uuid4()) for _ in range(rows)],
                "request_time": pd.Timestamp.now(tz="UTC"),
                "status_code": 200,
                "request": '{"dataframe_records": []}',
                "response": '{"predictions": []}',
            }
        )
        self.store.write(self.name, frame, mode="append")
        return self.store.version(self.name)

    def version(self) -> int | None:
        return self.store.version(self.name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(platform="local", home=tmp_path / "home")


@pytest.fixture
def payloads(settings: Settings) -> PayloadTable:
    return PayloadTable(settings)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def location(settings: Settings) -> dg.Definitions:
    """The code location of ``settings``, whose assets, jobs and resources sensors use."""
    return build_definitions(settings)


def with_sensor(location: dg.Definitions, sensor: dg.SensorDefinition) -> dg.Definitions:
    """Return the location's assets, jobs and resources with ``sensor`` as its only sensor."""
    return dg.Definitions(
        assets=location.assets,
        jobs=location.jobs,
        sensors=[sensor],
        resources=location.resources,
    )


def sensor_resources(definitions: dg.Definitions) -> dict[str, object]:
    """Return the resources a sensor of ``definitions`` may ask for.

    ``evaluate_tick`` takes resources from the context only, not from the definitions.
    """
    return {key: definitions.resources[key] for key in ("tables", "serving")}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: runs for more than about five minutes")
