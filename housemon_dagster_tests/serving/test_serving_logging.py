"""The inference table: schema, accepted and rejected requests, payload size limits."""

from __future__ import annotations

import json

import httpx
import pyarrow as pa
from deltalake import DeltaTable

from housemon_dagster.local.serving import INFERENCE_SCHEMA
from housemon_dagster.local.serving.flush import inference_table_path
from housemon_dagster_tests.serving.helpers import post_raw, read_inference_table, request_records


def _logged_rows(endpoint, responses: list[httpx.Response]):
    endpoint.flush()
    table = read_inference_table(endpoint.settings)
    ids = [response.headers["x-request-id"] for response in responses]
    return table.set_index("databricks_request_id").loc[ids]


def test_table_has_ai_gateway_schema(shared_endpoint, trained):
    post_raw(shared_endpoint.url, {"dataframe_records": request_records(trained, 1)})
    shared_endpoint.flush()
    schema = DeltaTable(str(inference_table_path(shared_endpoint.settings))).schema().to_arrow()
    names = [field.name for field in pa.schema(schema)]
    assert names == INFERENCE_SCHEMA.names


def test_accepted_request_logged(shared_endpoint, trained):
    records = request_records(trained, 2)
    body = {"dataframe_records": records, "client_request_id": "order-17"}
    response = post_raw(shared_endpoint.url, body)
    row = _logged_rows(shared_endpoint, [response]).iloc[0]
    assert row["status_code"] == 200
    assert row["client_request_id"] == "order-17"
    assert json.loads(row["request"]) == body
    assert json.loads(row["response"]) == response.json()
    assert row["served_entity_id"] == "house_prices_model_fe-1"
    assert row["sampling_fraction"] == 1.0
    assert row["requester"] == "127.0.0.1"
    assert str(row["request_date"]) == str(row["request_time"].date())


def test_rejected_requests_logged(shared_endpoint, trained):
    record = request_records(trained, 1)[0]
    bad_type = post_raw(shared_endpoint.url, {"dataframe_records": [{**record, "LotArea": "x"}]})
    unauthenticated = post_raw(shared_endpoint.url, {"dataframe_records": [record]}, token=None)
    rows = _logged_rows(shared_endpoint, [bad_type, unauthenticated])
    assert rows["status_code"].tolist() == [400, 401]
    assert json.loads(rows.iloc[0]["response"])["error_code"] == "INVALID_PARAMETER_VALUE"
    assert rows.iloc[1]["request"] is None


def test_oversized_request_logged_without_body(shared_endpoint, trained):
    response = post_raw(
        shared_endpoint.url, {"dataframe_records": request_records(trained, 1) * 400}
    )
    row = _logged_rows(shared_endpoint, [response]).iloc[0]
    assert row["status_code"] == 413
    assert row["request"] is None
    assert list(row["logging_error_codes"]) == ["MAX_REQUEST_SIZE_EXCEEDED"]
