"""Hot swap: a new model version and a new online store snapshot while requests flow."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from housemon_dagster.core.model import join_lookup_features
from housemon_dagster.local.serving import LocalEndpoint, deploy
from housemon_dagster_tests.serving.helpers import (
    TOKEN,
    free_port,
    post_raw,
    prepare_home,
    publish_features,
    read_inference_table,
    request_records,
)
from housemon_dagster_tests.serving.load import Load

SWAP_TIMEOUT = 10.0


def _wait_for(endpoint: LocalEndpoint, *, model_version: str, feature_version: int) -> dict:
    deadline = time.monotonic() + SWAP_TIMEOUT
    with endpoint.client() as client:
        while True:
            _, body = client.endpoint()
            served = body["config"]["served_entities"][0]["entity_version"]
            if served == model_version and body["online_feature_version"] == feature_version:
                return body
            if time.monotonic() > deadline:
                return body
            time.sleep(0.1)


def test_swap_under_load_fails_no_request(tmp_path, trained):
    settings = prepare_home(tmp_path, trained, versions=2)
    records = request_records(trained, 100)
    changed = trained.features.assign(GrLivArea=trained.features["GrLivArea"] * 2)
    probe = records[0]
    with LocalEndpoint(settings, port=free_port(), token=TOKEN, workers=2) as endpoint:
        with Load(endpoint.url, records, threads=4) as load:
            time.sleep(1.0)
            deploy(settings, 2)
            time.sleep(0.5)
            publish_features(settings, changed, version=2)
            state = _wait_for(endpoint, model_version="2", feature_version=2)
            time.sleep(0.5)
        result = load.result
        after = post_raw(endpoint.url, {"dataframe_records": [probe]}).json()["predictions"][0]
        endpoint.flush()
    expected = trained.model.predict(join_lookup_features(pd.DataFrame([probe]), changed))[0]
    served = set(read_inference_table(settings)["served_entity_id"])
    assert len(result.statuses) > 100
    assert [s for s in result.statuses if s != 200] == []
    assert state["config"]["served_entities"][0]["entity_version"] == "2"
    assert state["online_feature_version"] == 2
    assert after == pytest.approx(expected, rel=1e-12)
    assert served == {"house_prices_model_fe-1", "house_prices_model_fe-2"}
