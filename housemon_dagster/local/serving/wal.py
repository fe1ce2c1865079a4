"""Write-ahead log of inference entries, one file sequence per server worker.

Layout under the endpoint's state folder::

    workers/<worker id>.lock     flock held for the worker's lifetime
    wal/<worker id>.<n>.wal      segments, entries numbered by a per-worker ``seq``

A worker writes each entry with one ``write`` call before its HTTP response is sent.
A process crash (even ``kill -9``) therefore cannot lose a request that got a
response, because the bytes are already in the OS page cache. ``fsync`` runs in
batches on a short interval, so a power loss can lose at most that interval. A lock
file whose flock can be taken belongs to a dead worker, and the process that takes
it replays the worker's segments.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".wal"


class WorkerLock:
    """An exclusive flock on ``workers/<worker id>.lock``, released on close."""

    def __init__(self, path: Path, handle: int) -> None:
        self.path = path
        self._handle = handle

    @classmethod
    def create(cls, state_dir: Path, worker_id: str) -> WorkerLock:
        """Create and lock a new worker's lock file.

        The file is locked under a temporary name and then renamed, so no other process
        can find it unlocked and mistake the new worker for a dead one.
        """
        folder = state_dir / "workers"
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{worker_id}.tmp"
        handle = os.open(temporary, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = folder / f"{worker_id}.lock"
        os.replace(temporary, path)
        return cls(path, handle)

    @classmethod
    def try_acquire(cls, path: Path) -> WorkerLock | None:
        """Lock an existing worker's file; None when its worker is still alive."""
        try:
            handle = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return None
        return cls(path, handle)

    def release(self, *, delete: bool) -> None:
        if delete:
            self.path.unlink(missing_ok=True)
        os.close(self._handle)


def segment_path(state_dir: Path, worker_id: str, number: int) -> Path:
    return state_dir / "wal" / f"{worker_id}.{number:06d}{SEGMENT_SUFFIX}"


def worker_segments(state_dir: Path, worker_id: str) -> list[Path]:
    return sorted((state_dir / "wal").glob(f"{worker_id}.*{SEGMENT_SUFFIX}"))


def segment_workers(state_dir: Path) -> set[str]:
    """Return the worker ids that own at least one segment."""
    return {path.name.split(".")[0] for path in (state_dir / "wal").glob(f"*{SEGMENT_SUFFIX}")}


class SegmentWriter:
    """Appends encoded entries to one segment file with ``O_APPEND`` writes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
        self.size = os.fstat(self._handle).st_size
        self.dirty = False

    def append(self, line: bytes) -> None:
        written = os.write(self._handle, line)
        while written < len(line):
            written += os.write(self._handle, line[written:])
        self.size += len(line)
        self.dirty = True

    def sync(self) -> None:
        if self.dirty:
            self.dirty = False
            os.fsync(self._handle)

    def close(self) -> None:
        self.sync()
        os.close(self._handle)


# Entry fields stored as raw UTF-8 after the header line instead of inside it, because
# JSON-escaping a large request body costs more CPU than the rest of the logging.
PAYLOAD_FIELDS = ("request", "response")


def encode_entry(seq: int, entry: dict[str, Any]) -> bytes:
    """Encode one WAL record: a JSON header line, then the raw payloads and a newline.

    The header carries ``seq``, the other entry fields and the byte length of each
    payload (null for a null payload).
    """
    header: dict[str, Any] = {"seq": seq}
    payloads = []
    for name, value in entry.items():
        if name in PAYLOAD_FIELDS and value is not None:
            data = value.encode()
            header[f"{name}_bytes"] = len(data)
            payloads.append(data)
        else:
            header[name] = value
    line = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([line, b"\n", *payloads, b"\n"])


def _decode_record(header_line: bytes, stream: Any) -> tuple[int, dict[str, Any]] | None:
    header = json.loads(header_line)
    entry = {}
    for name, value in header.items():
        if name.endswith("_bytes") and name[: -len("_bytes")] in PAYLOAD_FIELDS:
            data = stream.read(value)
            if len(data) < value:
                return None
            entry[name[: -len("_bytes")]] = data.decode("utf-8")
        elif name != "seq":
            entry[name] = value
    if stream.read(1) != b"\n":
        return None
    return int(header["seq"]), entry


def read_segments(paths: list[Path]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(seq, entry)`` from segments in order, stopping at a torn last record."""
    for path in paths:
        with path.open("rb") as stream:
            number = 0
            while header_line := stream.readline():
                number += 1
                try:
                    record = _decode_record(header_line, stream)
                except (ValueError, UnicodeDecodeError):
                    record = None
                if record is None:
                    log.warning(
                        "Stopped reading WAL segment %s at unreadable record %d", path, number
                    )
                    break
                yield record
