"""Dynamic batching: concurrent scoring requests of one worker share one model call.

The model's ``predict`` costs about the same for 1 row as for 100, because the
pipeline's per-call overhead dominates. Joining the requests that arrive while a call
runs therefore raises throughput under concurrency. A lone request waits for nothing:
the first request of an idle worker is scored at once, and whatever queued meanwhile
goes into the next call. Rows are scored independently, so a request gets the same
predictions alone or in a batch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import numpy as np

from housemon_dagster.local.serving.state import ServingSnapshot

log = logging.getLogger(__name__)

MAX_BATCH_ROWS = 4096


@dataclass
class _Pending:
    snapshot: ServingSnapshot
    columns: dict[str, np.ndarray]
    rows: int
    future: asyncio.Future[np.ndarray]


class DynamicBatcher:
    """Queues scoring calls and runs them in a worker thread, one batch at a time."""

    def __init__(self, max_rows: int = MAX_BATCH_ROWS) -> None:
        self.max_rows = max_rows
        self._queue: list[_Pending] = []
        self._draining = False

    async def predict(
        self, snapshot: ServingSnapshot, columns: dict[str, np.ndarray]
    ) -> np.ndarray:
        rows = len(next(iter(columns.values())))
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(snapshot, columns, rows, future))
        if not self._draining:
            self._draining = True
            asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._take_batch()
                await self._score(batch)
        finally:
            self._draining = False

    def _take_batch(self) -> list[_Pending]:
        """Take queued calls that share the first call's snapshot, up to ``max_rows``."""
        first = self._queue[0]
        batch, rest, rows = [], [], 0
        for pending in self._queue:
            fits = not batch or rows + pending.rows <= self.max_rows
            if pending.snapshot is first.snapshot and fits:
                batch.append(pending)
                rows += pending.rows
            else:
                rest.append(pending)
        self._queue = rest
        return batch

    async def _score(self, batch: list[_Pending]) -> None:
        snapshot = batch[0].snapshot
        names = list(batch[0].columns)
        if len(batch) == 1:
            merged = batch[0].columns
        else:
            merged = {name: np.concatenate([p.columns[name] for p in batch]) for name in names}
        try:
            predictions = await asyncio.to_thread(snapshot.predict, merged)
        except Exception as error:  # noqa: BLE001
            # Rescore the requests one by one, so only the bad request fails.
            if len(batch) == 1:
                if not batch[0].future.done():
                    batch[0].future.set_exception(error)
                return
            log.warning(
                "A batch of %d requests failed (%s); scoring them one by one", len(batch), error
            )
            for pending in batch:
                await self._score([pending])
            return
        log.debug("Scored %d requests with %d rows in one call", len(batch), len(predictions))
        offset = 0
        for pending in batch:
            if not pending.future.done():
                pending.future.set_result(predictions[offset : offset + pending.rows])
            offset += pending.rows
