"""Replaying recorded rows against the serving endpoint, one record per request."""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from housemon_dagster.core.schema import ID_COLUMN, REQUEST_FEATURES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Phase:
    """Requests built from one table, sent for ``seconds`` or until ``max_requests``."""

    name: str
    records: Sequence[dict[str, Any]]
    seconds: float
    interval_seconds: float
    max_requests: int | None = None


@dataclass
class PhaseResult:
    name: str
    requests: int = 0
    status_counts: Counter = field(default_factory=Counter)
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {
            "phase": self.name,
            "requests": self.requests,
            "ok": self.status_counts.get(200, 0),
            "failed": self.requests - self.status_counts.get(200, 0),
            "seconds": round(self.seconds, 1),
            "p50_ms": _percentile(ordered, 0.5),
            "p99_ms": _percentile(ordered, 0.99),
        }


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 2)


def request_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the request columns of each row as JSON-ready dicts, in table order."""
    columns = [ID_COLUMN, *REQUEST_FEATURES]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"cannot build requests: columns {missing} are missing")
    subset = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in subset.to_dict("records")
    ]


def replay(
    phase: Phase,
    score: Callable[[list[dict[str, Any]]], tuple[int, Any]],
    *,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PhaseResult:
    """Send the phase's records in a cycle, one every ``interval_seconds``.

    Requests that fail at the HTTP level are counted as errors and replay goes on,
    so a flaky endpoint shows up in the result instead of ending the phase.
    """
    if not phase.records:
        raise ValueError(f"phase {phase.name!r} has no records to send")
    result = PhaseResult(phase.name)
    start = time.monotonic()
    deadline = start + phase.seconds
    report_every = max(1, int(30 / max(phase.interval_seconds, 0.01)))
    for index, record in enumerate(itertools.cycle(phase.records)):
        now = time.monotonic()
        if now >= deadline or (phase.max_requests is not None and index >= phase.max_requests):
            break
        began = time.perf_counter()
        try:
            status, _ = score([record])
        except OSError as error:
            log.warning("Request %d of phase %s failed: %s", index, phase.name, error)
            status = -1
            result.errors += 1
        result.latencies_ms.append((time.perf_counter() - began) * 1000)
        result.requests += 1
        result.status_counts[status] += 1
        if progress is not None and result.requests % report_every == 0:
            progress(
                f"{phase.name}: {result.requests} requests in {now - start:.0f} s "
                f"of {phase.seconds:.0f} s"
            )
        pause = start + (index + 1) * phase.interval_seconds - time.monotonic()
        if pause > 0:
            sleep(min(pause, max(0.0, deadline - time.monotonic())))
    result.seconds = time.monotonic() - start
    return result
