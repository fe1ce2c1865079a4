"""Rejected requests: each bad input gets its status, error code and a message naming the fix."""

from __future__ import annotations

import json
import socket
import time

import pytest

from housemon_dagster_tests.serving.conftest import SHARED_MAX_BODY_BYTES, SHARED_REQUEST_TIMEOUT
from housemon_dagster_tests.serving.helpers import INVOCATIONS, TOKEN, post_raw, request_records


def _one_record(trained) -> dict:
    return request_records(trained, 1)[0]


def _without(record: dict, column: str) -> dict:
    return {name: value for name, value in record.items() if name != column}


def _with(record: dict, **values) -> dict:
    return {**record, **values}


# (case id, body builder, expected status, expected error_code, text the message names)
CASES = [
    ("invalid json", lambda r: b"{not json", 400, "MALFORMED_REQUEST", "not valid JSON"),
    ("nan literal", lambda r: b'{"dataframe_records": [NaN]}', 400, "MALFORMED_REQUEST", "NaN"),
    ("invalid utf8", lambda r: b"\xff\xfe", 400, "MALFORMED_REQUEST", "UTF-8"),
    ("body is a list", lambda r: [r], 400, "BAD_REQUEST", "JSON array"),
    ("unknown format", lambda r: {"records": [r]}, 400, "BAD_REQUEST", "dataframe_records"),
    (
        "two formats",
        lambda r: {"dataframe_records": [r], "instances": [r]},
        400,
        "BAD_REQUEST",
        "exactly one",
    ),
    (
        "unknown top-level field",
        lambda r: {"dataframe_records": [r], "params": {}},
        400,
        "BAD_REQUEST",
        "params",
    ),
    (
        "empty records",
        lambda r: {"dataframe_records": []},
        400,
        "INVALID_PARAMETER_VALUE",
        "no records",
    ),
    ("empty inputs", lambda r: {"inputs": {}}, 400, "INVALID_PARAMETER_VALUE", "no records"),
    (
        "missing column",
        lambda r: {"dataframe_records": [_without(r, "LotArea")]},
        400,
        "INVALID_PARAMETER_VALUE",
        "missing columns ['LotArea']",
    ),
    (
        "extra column",
        lambda r: {"dataframe_records": [_with(r, OverallQual=7)]},
        400,
        "INVALID_PARAMETER_VALUE",
        "unexpected columns ['OverallQual']",
    ),
    (
        "string for long",
        lambda r: {"dataframe_records": [_with(r, LotArea="big")]},
        400,
        "INVALID_PARAMETER_VALUE",
        "column 'LotArea' has type long",
    ),
    (
        "fraction for long",
        lambda r: {"dataframe_records": [_with(r, YearBuilt=1999.5)]},
        400,
        "INVALID_PARAMETER_VALUE",
        "column 'YearBuilt' has type long",
    ),
    (
        "boolean for double",
        lambda r: {"dataframe_records": [_with(r, LotFrontage=True)]},
        400,
        "INVALID_PARAMETER_VALUE",
        "column 'LotFrontage' has type double",
    ),
    (
        "number for string",
        lambda r: {"dataframe_records": [_with(r, Neighborhood=3)]},
        400,
        "INVALID_PARAMETER_VALUE",
        "column 'Neighborhood' has type string",
    ),
    (
        "null value",
        lambda r: {"dataframe_records": [_with(r, MasVnrArea=None)]},
        400,
        "INVALID_PARAMETER_VALUE",
        "column 'MasVnrArea' has type double but record 0 contains null",
    ),
    (
        "huge integer",
        lambda r: {"dataframe_records": [_with(r, LotArea=10**30)]},
        400,
        "INVALID_PARAMETER_VALUE",
        "column 'LotArea' record 0 contains 1e+30, outside the supported range",
    ),
    (
        "huge double",
        lambda r: {"dataframe_records": [_with(r, LotFrontage=1e308)]},
        400,
        "INVALID_PARAMETER_VALUE",
        "column 'LotFrontage' record 0 contains 1e+308, outside the supported range",
    ),
    (
        "records with different columns",
        lambda r: {"dataframe_records": [r, _without(r, "Street")]},
        400,
        "INVALID_PARAMETER_VALUE",
        "record 1 of 'dataframe_records' has other columns than record 0: missing ['Street']",
    ),
    (
        "split row too short",
        lambda r: {"dataframe_split": {"columns": list(r), "data": [list(r.values())[:-1]]}},
        400,
        "BAD_REQUEST",
        "row 0 of 'dataframe_split.data'",
    ),
    (
        "split without data",
        lambda r: {"dataframe_split": {"columns": list(r)}},
        400,
        "BAD_REQUEST",
        "lacks ['data']",
    ),
    (
        "columnar lengths differ",
        lambda r: {"inputs": {**{k: [v] for k, v in r.items()}, "Id": ["1", "2"]}},
        400,
        "BAD_REQUEST",
        "different lengths",
    ),
    (
        "unknown id",
        lambda r: {"dataframe_records": [_with(r, Id="no-such-house")]},
        400,
        "INVALID_PARAMETER_VALUE",
        "such as ['no-such-house']",
    ),
    (
        "client request id not a string",
        lambda r: {"dataframe_records": [r], "client_request_id": 5},
        400,
        "INVALID_PARAMETER_VALUE",
        "client_request_id",
    ),
    (
        "oversized body",
        lambda r: {"dataframe_records": [r] * 400},
        413,
        "MAX_REQUEST_SIZE_EXCEEDED",
        f"limit of {SHARED_MAX_BODY_BYTES} bytes",
    ),
]


@pytest.mark.parametrize(
    ("build", "status", "error_code", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_request_rejected(shared_endpoint, trained, build, status, error_code, fragment):
    response = post_raw(shared_endpoint.url, build(_one_record(trained)))
    body = response.json()
    assert response.status_code == status, body
    assert body["error_code"] == error_code, body
    assert fragment in body["message"], body


def test_oversized_body_is_really_over_limit(trained):
    body = json.dumps({"dataframe_records": [_one_record(trained)] * 400}).encode()
    assert len(body) > SHARED_MAX_BODY_BYTES


def test_unsupported_content_type(shared_endpoint, trained):
    record = _one_record(trained)
    response = post_raw(
        shared_endpoint.url, {"dataframe_records": [record]}, content_type="text/csv"
    )
    assert response.status_code == 415
    assert response.json()["error_code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_unknown_endpoint_name(shared_endpoint, trained):
    response = post_raw(
        shared_endpoint.url,
        {"dataframe_records": [_one_record(trained)]},
        path="/serving-endpoints/other-endpoint/invocations",
    )
    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_wrong_method(shared_endpoint):
    import httpx

    response = httpx.get(f"{shared_endpoint.url}/serving-endpoints/x/invocations")
    assert response.status_code == 405
    assert response.json()["error_code"] == "METHOD_NOT_ALLOWED"


def test_slow_body_times_out(shared_endpoint):
    head = (
        f"POST {INVOCATIONS} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", shared_endpoint.port), timeout=30) as connection:
        connection.sendall(head.encode() + b'{"dataframe_records": [')
        started = time.monotonic()
        reply = connection.recv(65536).decode()
        waited = time.monotonic() - started
        # Under load the body can arrive in a later segment than the headers.
        while "REQUEST_TIMEOUT" not in reply:
            chunk = connection.recv(65536).decode()
            if not chunk:
                break
            reply += chunk
    assert reply.startswith("HTTP/1.1 408"), reply
    assert "REQUEST_TIMEOUT" in reply
    assert waited >= SHARED_REQUEST_TIMEOUT - 0.5
