"""Bearer token checks on the scoring, state and admin routes."""

from __future__ import annotations

import httpx
import pytest

from housemon_dagster_tests.serving.helpers import TOKEN, post_raw, request_records


@pytest.mark.parametrize(
    ("header", "status", "error_code"),
    [
        (None, 401, "UNAUTHENTICATED"),
        ("Basic dXNlcjpwYXNz", 401, "UNAUTHENTICATED"),
        ("Bearer", 401, "UNAUTHENTICATED"),
        ("Bearer wrong-token", 403, "PERMISSION_DENIED"),
        (f"Bearer {TOKEN}x", 403, "PERMISSION_DENIED"),
    ],
    ids=["no header", "basic scheme", "empty token", "wrong token", "token with suffix"],
)
def test_scoring_rejects_bad_credentials(shared_endpoint, trained, header, status, error_code):
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Authorization"] = header
    response = httpx.post(
        f"{shared_endpoint.url}/serving-endpoints/{shared_endpoint.endpoint_name}/invocations",
        json={"dataframe_records": request_records(trained, 1)},
        headers=headers,
    )
    assert response.status_code == status
    assert response.json()["error_code"] == error_code


def test_scoring_accepts_token(shared_endpoint, trained):
    response = post_raw(shared_endpoint.url, {"dataframe_records": request_records(trained, 1)})
    assert response.status_code == 200


def test_state_route_needs_token(shared_endpoint):
    response = httpx.get(f"{shared_endpoint.url}/serving-endpoints/{shared_endpoint.endpoint_name}")
    assert response.status_code == 401


def test_flush_route_needs_token(shared_endpoint):
    response = httpx.post(f"{shared_endpoint.url}/admin/flush")
    assert response.status_code == 401


def test_health_needs_no_token(shared_endpoint):
    response = httpx.get(f"{shared_endpoint.url}/health")
    assert response.status_code == 200
