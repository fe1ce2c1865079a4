"""Durable logging of every scoring request of one server worker to the inference table.

``log`` writes the entry to the worker's WAL segment at once and queues it. A
background thread ``fsync``s the segment every ``fsync_interval`` seconds. It appends
the queue to Delta every ``flush_interval`` seconds, or sooner when ``flush`` is
called or ``max_batch`` entries wait. A segment that grew past ``segment_bytes`` is
closed, and deleted once all its entries are in Delta.

The request path never takes a lock that the background thread holds, because such
a lock would stall request handling whenever the thread holds it while it waits for
the GIL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from deltalake import DeltaTable

from housemon_dagster.local.serving.inference_table import append_entries
from housemon_dagster.local.serving.wal import (
    SegmentWriter,
    WorkerLock,
    encode_entry,
    segment_path,
    worker_segments,
)

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)


class InferenceLogger:
    """Per-worker WAL plus batched Delta appends; thread-safe ``log`` and ``flush``."""

    def __init__(
        self,
        state_dir: Path,
        table_path: Path,
        *,
        worker_id: str,
        flush_interval: float = 2.0,
        fsync_interval: float = 0.1,
        max_batch: int = 5000,
        segment_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.state_dir = state_dir
        self.table_path = table_path
        self.worker_id = worker_id
        self.flush_interval = flush_interval
        self.fsync_interval = fsync_interval
        self.max_batch = max_batch
        self.segment_bytes = segment_bytes
        self._lock = WorkerLock.create(state_dir, worker_id)
        # Taken by ``log`` callers only, never by the background thread.
        self._write_lock = threading.Lock()
        self._segment_number = 1
        self._writer = SegmentWriter(segment_path(state_dir, worker_id, 1))
        self._seq = 0
        self._pending: deque[tuple[int, dict[str, Any]]] = deque()
        # Segments closed by ``log`` with the last seq they contain, for the thread to
        # sync, close and delete.
        self._retired: deque[tuple[SegmentWriter, int]] = deque()
        self._sealed: list[tuple[SegmentWriter, int]] = []
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._committed = 0
        self._flush_target = 0
        self._failures = 0
        self._table: DeltaTable | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"inference-log-{worker_id}")
        self._thread.daemon = True

    def start(self) -> None:
        self._thread.start()
        log.info("Inference logging started for worker %s into %s", self.worker_id, self.table_path)

    def log(self, entry: dict[str, Any]) -> int:
        """Write ``entry`` to the WAL and queue it for Delta; return its ``seq``."""
        with self._write_lock:
            self._seq += 1
            seq = self._seq
            if self._writer.size >= self.segment_bytes:
                self._retired.append((self._writer, seq - 1))
                self._segment_number += 1
                self._writer = SegmentWriter(
                    segment_path(self.state_dir, self.worker_id, self._segment_number)
                )
            self._writer.append(encode_entry(seq, entry))
            self._pending.append((seq, entry))
        if len(self._pending) >= self.max_batch:
            self._wake.set()
        return seq

    def flush(self, timeout: float = 30.0) -> int:
        """Block until every entry logged before the call is in Delta; return its count."""
        target = self._seq
        with self._done:
            self._flush_target = max(self._flush_target, target)
        self._wake.set()
        with self._done:
            done = self._done.wait_for(lambda: self._committed >= target, timeout)
        if not done:
            raise TimeoutError(
                f"worker {self.worker_id} could not append its inference log up to entry "
                f"{target} to {self.table_path} within {timeout} s; see the server log"
            )
        return target

    def close(self, timeout: float = 30.0) -> None:
        """Append what is left, stop the thread and remove the WAL once it is in Delta."""
        try:
            self.flush(timeout)
        except TimeoutError as error:
            log.error("Closing with entries not yet in Delta, the WAL keeps them: %s", error)
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        with self._write_lock:
            self._writer.close()
        for writer, _ in self._sealed:
            writer.close()
        if self._committed >= self._seq:
            for path in worker_segments(self.state_dir, self.worker_id):
                path.unlink(missing_ok=True)
        self._lock.release(delete=True)
        log.info(
            "Inference logging stopped for worker %s: %d entries logged, %d in Delta",
            self.worker_id,
            self._seq,
            self._committed,
        )

    def _run(self) -> None:
        last_append = time.monotonic()
        while not self._stopping:
            self._wake.wait(self.fsync_interval)
            self._wake.clear()
            self._writer.sync()
            self._seal_retired()
            due = (
                self._committed < self._flush_target
                or len(self._pending) >= self.max_batch
                or time.monotonic() - last_append >= self.flush_interval
            )
            if due and self._append_pending():
                last_append = time.monotonic()
            self._delete_committed_segments()

    def _seal_retired(self) -> None:
        while self._retired:
            writer, last_seq = self._retired.popleft()
            writer.sync()
            self._sealed.append((writer, last_seq))

    def _append_pending(self) -> bool:
        count = len(self._pending)
        batch = [self._pending.popleft() for _ in range(count)]
        if not batch:
            return True
        last_seq = batch[-1][0]
        try:
            self._table = append_entries(
                self.table_path,
                [entry for _, entry in batch],
                worker_id=self.worker_id,
                last_seq=last_seq,
                table=self._table,
            )
        except Exception as error:  # noqa: BLE001
            # The WAL keeps the entries, so the append is retried later on a freshly
            # loaded table.
            self._table = None
            self._pending.extendleft(reversed(batch))
            self._back_off(batch[0][0], last_seq, error)
            return False
        self._failures = 0
        with self._done:
            self._committed = last_seq
            self._done.notify_all()
        return True

    def _back_off(self, first_seq: int, last_seq: int, error: Exception) -> None:
        delay = RETRY_DELAYS[min(self._failures, len(RETRY_DELAYS) - 1)]
        self._failures += 1
        log.error(
            "Appending entries %d-%d of worker %s to %s failed (attempt %d), retrying in "
            "%.1f s: %s",
            first_seq,
            last_seq,
            self.worker_id,
            self.table_path,
            self._failures,
            delay,
            error,
        )
        time.sleep(delay)

    def _delete_committed_segments(self) -> None:
        remaining = []
        for writer, last_seq in self._sealed:
            if last_seq <= self._committed:
                writer.close()
                writer.path.unlink(missing_ok=True)
                log.info("Worker %s deleted WAL segment %s", self.worker_id, writer.path.name)
            else:
                remaining.append((writer, last_seq))
        self._sealed = remaining
