"""Fixtures: one model trained and one endpoint started per test session."""

from __future__ import annotations

import pytest

from housemon_dagster.core.model import train_model
from housemon_dagster.core.preprocessing import clean, split
from housemon_dagster.core.schema import ID_COLUMN, LOOKUP_FEATURES
from housemon_dagster.core.source import load_source
from housemon_dagster.local.serving import LocalEndpoint
from housemon_dagster_tests.serving.helpers import TOKEN, TrainedData, free_port, prepare_home

SHARED_MAX_BODY_BYTES = 200_000
SHARED_REQUEST_TIMEOUT = 2.0


@pytest.fixture(scope="session")
def trained() -> TrainedData:
    source, _ = load_source(None)
    frame = clean(source)
    train, test = split(frame)
    features = frame[[ID_COLUMN, *LOOKUP_FEATURES]]
    return TrainedData(train_model(train, test, features), test, features)


@pytest.fixture(scope="session")
def shared_endpoint(tmp_path_factory, trained):
    """An endpoint with auth on, a 200 kB body limit and a 2 s body timeout, for all tests."""
    settings = prepare_home(tmp_path_factory.mktemp("home"), trained)
    endpoint = LocalEndpoint(
        settings,
        port=free_port(),
        token=TOKEN,
        max_body_bytes=SHARED_MAX_BODY_BYTES,
        request_timeout=SHARED_REQUEST_TIMEOUT,
    )
    with endpoint:
        yield endpoint
