"""A bounded background load generator for the endpoint tests."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Self

import httpx

from housemon_dagster_tests.serving.helpers import INVOCATIONS, TOKEN


@dataclass
class LoadResult:
    """Per request: HTTP status (None when the connection failed) and the request id."""

    statuses: list[int | None] = field(default_factory=list)
    ok_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Load:
    """Threads sending single-record requests until stopped or ``max_seconds`` pass."""

    def __init__(
        self, url: str, records: list[dict], *, threads: int = 4, max_seconds: float = 15.0
    ):
        self.url = url
        self.records = records
        self.result = LoadResult()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> LoadResult:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        return self.result

    def _run(self, offset: int) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=10.0) as client:
            for record in itertools.cycle(self.records[offset:] + self.records[:offset]):
                if self._stop.is_set() or time.monotonic() > self._deadline:
                    return
                try:
                    response = client.post(INVOCATIONS, json={"dataframe_records": [record]})
                except httpx.HTTPError as error:
                    with self._lock:
                        self.result.statuses.append(None)
                        self.result.errors.append(repr(error))
                    if self._stop.is_set():
                        return
                    time.sleep(0.05)
                    continue
                with self._lock:
                    self.result.statuses.append(response.status_code)
                    if response.status_code == 200:
                        self.result.ok_ids.append(response.headers["x-request-id"])
