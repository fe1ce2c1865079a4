"""Flushing the inference log of every server worker, and replaying dead workers' WALs.

A flush is requested through files, so it reaches every uvicorn worker process and
can be started from any process on the machine:

1. ``flush`` bumps the integer in ``flush/generation``;
2. each live worker polls that file, appends its queue to Delta and writes the
   generation it reached to ``flush/ack-<worker id>``;
3. ``flush`` waits until every live worker has acknowledged, and replays the WAL of
   any dead worker itself.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from housemon_dagster.local.delta_store import DeltaTableStore
from housemon_dagster.local.serving.inference_table import append_entries, committed_seq
from housemon_dagster.local.serving.wal import (
    WorkerLock,
    read_segments,
    segment_workers,
    worker_segments,
)
from housemon_dagster.settings import ENDPOINT_NAME, Settings

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
REPLAY_BATCH = 10_000


@dataclass(frozen=True)
class FlushResult:
    generation: int
    live_workers: int
    replayed_entries: int


def state_dir(settings: Settings, endpoint_name: str = ENDPOINT_NAME) -> Path:
    """Return the folder with the endpoint's WAL, worker locks and flush files."""
    return settings.home / "serving" / endpoint_name


def inference_table_path(settings: Settings) -> Path:
    return DeltaTableStore(settings.warehouse).path(settings.inference_table)


def read_generation(folder: Path) -> int:
    try:
        return int((folder / "flush" / "generation").read_text() or 0)
    except FileNotFoundError:
        return 0


def write_ack(folder: Path, worker_id: str, generation: int) -> None:
    path = folder / "flush" / f"ack-{worker_id}"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(str(generation))
    os.replace(temporary, path)


def remove_ack(folder: Path, worker_id: str) -> None:
    (folder / "flush" / f"ack-{worker_id}").unlink(missing_ok=True)


def _bump_generation(folder: Path) -> int:
    flush_dir = folder / "flush"
    flush_dir.mkdir(parents=True, exist_ok=True)
    with open(flush_dir / "generation.lock", "a+") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        generation = read_generation(folder) + 1
        temporary = flush_dir / ".generation.tmp"
        temporary.write_text(str(generation))
        os.replace(temporary, flush_dir / "generation")
    return generation


def _acked(folder: Path, worker_id: str) -> int:
    try:
        return int((folder / "flush" / f"ack-{worker_id}").read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def replay_dead_workers(folder: Path, table_path: Path) -> int:
    """Append to Delta the WAL entries of dead workers that the table lacks.

    Returns the number of entries appended. Holding the dead worker's lock keeps two
    replays of the same WAL from running at once.
    """
    worker_ids = segment_workers(folder) | {p.stem for p in (folder / "workers").glob("*.lock")}
    appended = 0
    for worker_id in sorted(worker_ids):
        lock = WorkerLock.try_acquire(folder / "workers" / f"{worker_id}.lock")
        if lock is None:
            continue
        try:
            appended += _replay_worker(folder, table_path, worker_id)
            remove_ack(folder, worker_id)
        finally:
            lock.release(delete=True)
    return appended


def _replay_worker(folder: Path, table_path: Path, worker_id: str) -> int:
    segments = worker_segments(folder, worker_id)
    committed = committed_seq(table_path, worker_id) if segments else 0
    batch: list[dict] = []
    appended = 0
    last_seq = committed
    for seq, entry in read_segments(segments):
        if seq <= committed:
            continue
        batch.append(entry)
        last_seq = seq
        if len(batch) >= REPLAY_BATCH:
            append_entries(table_path, batch, worker_id=worker_id, last_seq=last_seq)
            appended += len(batch)
            batch = []
    if batch:
        append_entries(table_path, batch, worker_id=worker_id, last_seq=last_seq)
        appended += len(batch)
    for path in segments:
        path.unlink(missing_ok=True)
    log.info(
        "Replayed the WAL of dead worker %s: %d entries appended, %d already in Delta",
        worker_id,
        appended,
        committed,
    )
    return appended


def flush(
    settings: Settings, *, endpoint_name: str = ENDPOINT_NAME, timeout: float = 30.0
) -> FlushResult:
    """Wait until every request the endpoint has responded to is in the inference table.

    Works whether the endpoint runs, has crashed or was never started: live workers
    flush their queues, dead workers' WALs are replayed here. Raises ``TimeoutError``
    naming the workers that did not acknowledge within ``timeout`` seconds.
    """
    folder = state_dir(settings, endpoint_name)
    return request_flush(folder, inference_table_path(settings), timeout=timeout)


def request_flush(folder: Path, table_path: Path, *, timeout: float = 30.0) -> FlushResult:
    generation = _bump_generation(folder)
    deadline = time.monotonic() + timeout
    replayed = 0
    while True:
        replayed += replay_dead_workers(folder, table_path)
        live = [p.stem for p in (folder / "workers").glob("*.lock")]
        waiting = [worker for worker in live if _acked(folder, worker) < generation]
        if not waiting:
            return FlushResult(generation, len(live), replayed)
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"inference log flush {generation} timed out after {timeout} s waiting for "
                f"workers {waiting} under {folder}; check the endpoint's log"
            )
        time.sleep(POLL_SECONDS)
