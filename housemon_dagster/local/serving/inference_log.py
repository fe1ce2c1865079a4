"""Durable logging of every scoring request of one server worker to the inference table.

``log`` writes the entry to the worker's WAL segment at once and queues it. A
background thread ``fsync``s the segment every ``fsync_interval`` seconds. It appends
the queue to Delta every ``flush_interval`` seconds, or sooner when ``flush`` is
called or ``max_batch`` entries wait. Segments whose entries are all in Delta are
deleted when the segment grows past ``segment_bytes`` and on a clean close.
"""

from __future__ import annotations

import logging
import threading
import time
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
        fsync_interval: float = 0.05,
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
        self._segment_number = 1
        self._writer = SegmentWriter(segment_path(state_dir, worker_id, 1))
        self._condition = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._seq = 0
        self._committed = 0
        self._flush_requested = False
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
        with self._condition:
            self._seq += 1
            self._writer.append(encode_entry(self._seq, entry))
            self._pending.append(entry)
            if len(self._pending) >= self.max_batch:
                self._condition.notify_all()
            return self._seq

    def flush(self, timeout: float = 30.0) -> int:
        """Block until every entry logged before the call is in Delta; return its count."""
        with self._condition:
            target = self._seq
            self._flush_requested = True
            self._condition.notify_all()
            done = self._condition.wait_for(lambda: self._committed >= target, timeout)
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
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._thread.join(timeout)
        with self._condition:
            self._writer.close()
            complete = self._committed >= self._seq
        if complete:
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
        while True:
            with self._condition:
                if self._stopping:
                    return
                self._condition.wait(self.fsync_interval)
                writer = self._writer
                due = (
                    self._flush_requested
                    or len(self._pending) >= self.max_batch
                    or time.monotonic() - last_append >= self.flush_interval
                )
            # Only this thread rotates segments, so syncing outside the lock is safe and
            # keeps request threads from waiting on the disk.
            writer.sync()
            if due and self._append_pending():
                last_append = time.monotonic()

    def _append_pending(self) -> bool:
        with self._condition:
            batch, self._pending = self._pending, []
            last_seq = self._seq
            self._flush_requested = False
        if batch:
            try:
                self._table = append_entries(
                    self.table_path,
                    batch,
                    worker_id=self.worker_id,
                    last_seq=last_seq,
                    table=self._table,
                )
            except Exception as error:  # noqa: BLE001
                # The WAL keeps the entries, so the append is retried later on a freshly
                # loaded table.
                self._table = None
                self._requeue(batch, last_seq, error)
                return False
        self._failures = 0
        with self._condition:
            self._committed = last_seq
            self._condition.notify_all()
            self._rotate_if_large()
        return True

    def _requeue(self, batch: list[dict[str, Any]], last_seq: int, error: Exception) -> None:
        delay = RETRY_DELAYS[min(self._failures, len(RETRY_DELAYS) - 1)]
        self._failures += 1
        log.error(
            "Appending entries %d-%d of worker %s to %s failed (attempt %d), retrying in "
            "%.1f s: %s",
            last_seq - len(batch) + 1,
            last_seq,
            self.worker_id,
            self.table_path,
            self._failures,
            delay,
            error,
        )
        with self._condition:
            self._pending = batch + self._pending
            self._flush_requested = True
        time.sleep(delay)

    def _rotate_if_large(self) -> None:
        """Start a new segment once the current one is large and fully in Delta."""
        if self._pending or self._writer.size < self.segment_bytes:
            return
        old = self._writer
        self._segment_number += 1
        self._writer = SegmentWriter(
            segment_path(self.state_dir, self.worker_id, self._segment_number)
        )
        old.close()
        for path in worker_segments(self.state_dir, self.worker_id):
            if path != self._writer.path:
                path.unlink(missing_ok=True)
        log.info("Worker %s rotated its WAL to %s", self.worker_id, self._writer.path.name)
