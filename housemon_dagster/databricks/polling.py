"""Polling a long-running workspace operation until it reaches a terminal state."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from housemon_dagster.databricks.errors import DatabricksPlatformError

T = TypeVar("T")


class OperationTimeoutError(DatabricksPlatformError, TimeoutError):
    """Raised when an operation is still running when its timeout expires."""


def poll_until(
    fetch: Callable[[], T],
    state_of: Callable[[T], str],
    *,
    terminal: Collection[str],
    description: str,
    timeout_seconds: float,
    interval_seconds: float,
    log: Any,
) -> T:
    """Call ``fetch`` until ``state_of`` its result is terminal; log every state change."""
    deadline = time.monotonic() + timeout_seconds
    previous = None
    while True:
        current = fetch()
        state = state_of(current)
        if state != previous:
            log.info("%s is %s", description, state)
            previous = state
        if state in terminal:
            return current
        if time.monotonic() + interval_seconds > deadline:
            raise OperationTimeoutError(
                f"{description} is still {state} after {timeout_seconds:.0f} s; "
                "check it in the workspace or raise the timeout"
            )
        time.sleep(interval_seconds)
