"""A small HTTP client for the endpoint, with a pooled keep-alive connection set."""

from __future__ import annotations

import logging
from typing import Any, Self

import httpx

from housemon_dagster.settings import ENDPOINT_NAME

log = logging.getLogger(__name__)


class EndpointClient:
    """Scores records against ``<url>/serving-endpoints/<name>/invocations``.

    ``score`` returns ``(status, body)`` without raising on 4xx or 5xx, because the
    callers replaying traffic record failures instead of stopping on them.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        endpoint_name: str = ENDPOINT_NAME,
        timeout: float = 30.0,
        max_connections: int = 32,
    ) -> None:
        self.url = url.rstrip("/")
        self.endpoint_name = endpoint_name
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    def score(
        self,
        records: list[dict[str, Any]],
        *,
        input_field: str = "dataframe_records",
        client_request_id: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Send ``records`` in one request; return the HTTP status and the JSON body."""
        payload: dict[str, Any] = {input_field: records}
        if client_request_id is not None:
            payload["client_request_id"] = client_request_id
        return self.post_json(f"/serving-endpoints/{self.endpoint_name}/invocations", payload)

    def post_json(self, path: str, payload: Any) -> tuple[int, dict[str, Any]]:
        response = self._client.post(path, json=payload)
        return response.status_code, _json_body(response)

    def endpoint(self) -> tuple[int, dict[str, Any]]:
        """Return the endpoint's state and served model version."""
        response = self._client.get(f"/serving-endpoints/{self.endpoint_name}")
        return response.status_code, _json_body(response)

    def health(self) -> tuple[int, dict[str, Any]]:
        response = self._client.get("/health")
        return response.status_code, _json_body(response)

    def flush(self, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until the endpoint's logged requests are in the inference table."""
        response = self._client.post(
            "/admin/flush", params={"timeout": timeout}, timeout=timeout + 5.0
        )
        body = _json_body(response)
        if response.status_code != 200:
            raise RuntimeError(
                f"flush of {self.url} failed with HTTP {response.status_code}: "
                f"{body.get('message', body)}"
            )
        return body

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text}
    return body if isinstance(body, dict) else {"body": body}
