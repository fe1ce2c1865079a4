"""Scoring: every protocol format, batches equal single records, and the state route."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from housemon_dagster.core.model import join_lookup_features
from housemon_dagster_tests.serving.helpers import post_raw, request_records

BATCH = 50
CONCURRENT = 32


def _expected(trained, records: list[dict]) -> list[float]:
    import pandas as pd

    frame = join_lookup_features(pd.DataFrame(records), trained.features)
    return trained.model.predict(frame).tolist()


def _formats(records: list[dict]) -> dict[str, dict]:
    columns = list(records[0])
    return {
        "dataframe_records": {"dataframe_records": records},
        "dataframe_split": {
            "dataframe_split": {
                "columns": columns,
                "data": [[record[name] for name in columns] for record in records],
            }
        },
        "dataframe_split with index": {
            "dataframe_split": {
                "index": list(range(len(records))),
                "columns": columns,
                "data": [[record[name] for name in columns] for record in records],
            }
        },
        "inputs as records": {"inputs": records},
        "instances as records": {"instances": records},
        "inputs as columns": {"inputs": {name: [r[name] for r in records] for name in columns}},
        "instances as columns": {
            "instances": {name: [r[name] for r in records] for name in columns}
        },
    }


FORMAT_NAMES = list(_formats([{"Id": "1"}]))


@pytest.mark.parametrize("format_name", FORMAT_NAMES)
def test_format_scores_like_the_model(shared_endpoint, trained, format_name):
    records = request_records(trained, 3)
    response = post_raw(shared_endpoint.url, _formats(records)[format_name])
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == pytest.approx(_expected(trained, records), rel=1e-12)


def test_batch_equals_single_records(shared_endpoint, trained):
    records = request_records(trained, BATCH, start=10)
    batch = post_raw(shared_endpoint.url, {"dataframe_records": records}).json()["predictions"]
    singles = [
        post_raw(shared_endpoint.url, {"dataframe_records": [record]}).json()["predictions"][0]
        for record in records
    ]
    assert len(batch) == BATCH
    assert batch == singles


def test_large_batch_scores(shared_endpoint, trained):
    records = request_records(trained, 300)
    response = post_raw(shared_endpoint.url, {"dataframe_records": records})
    assert response.status_code == 200
    assert response.json()["predictions"] == pytest.approx(_expected(trained, records), rel=1e-12)


def test_concurrent_requests_score_like_alone(shared_endpoint, trained):
    records = request_records(trained, CONCURRENT, start=100)

    def score(record: dict) -> float:
        response = post_raw(shared_endpoint.url, {"dataframe_records": [record]})
        return response.json()["predictions"][0]

    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        predictions = list(pool.map(score, records))
    assert predictions == pytest.approx(_expected(trained, records), rel=1e-12)


def test_whole_number_accepted_for_double(shared_endpoint, trained):
    record = {**request_records(trained, 1)[0], "LotFrontage": 80}
    response = post_raw(shared_endpoint.url, {"dataframe_records": [record]})
    assert response.status_code == 200


def test_response_carries_request_id(shared_endpoint, trained):
    response = post_raw(shared_endpoint.url, {"dataframe_records": request_records(trained, 1)})
    assert len(response.headers["x-request-id"]) == 36


def test_state_route_names_served_version(shared_endpoint):
    status, body = shared_endpoint.client().endpoint()
    assert status == 200
    assert body["state"]["ready"] == "READY"
    assert body["state"]["config_update"] == "NOT_UPDATING"
    assert body["config"]["served_entities"][0]["entity_version"] == "1"
    assert body["config"]["served_entities"][0]["name"] == "house_prices_model_fe-1"
    assert body["online_feature_version"] == 1
