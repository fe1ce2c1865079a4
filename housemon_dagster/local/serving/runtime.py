"""Per-worker runtime: serving state, inference logger and the poll loop behind hot swaps.

Each uvicorn worker process owns one ``EndpointRuntime``. Its poll loop reloads the
model or features when they change and serves flush requests from other processes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from housemon_dagster.local.serving.batching import DynamicBatcher
from housemon_dagster.local.serving.flush import (
    inference_table_path,
    read_generation,
    remove_ack,
    replay_dead_workers,
    state_dir,
    write_ack,
)
from housemon_dagster.local.serving.inference_log import InferenceLogger
from housemon_dagster.local.serving.options import ServerOptions
from housemon_dagster.local.serving.state import ServingState

log = logging.getLogger(__name__)


class EndpointRuntime:
    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.settings = options.settings()
        self.worker_id = uuid.uuid4().hex[:16]
        self.state = ServingState(self.settings, options.endpoint_name)
        self.state_dir = state_dir(self.settings, options.endpoint_name)
        self.table_path = inference_table_path(self.settings)
        self.logger: InferenceLogger | None = None
        self.batcher = DynamicBatcher()
        self._acked_generation = 0
        self._poll_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        log.info(
            "Worker %s of endpoint %s starting (home %s, inference logging %s)",
            self.worker_id,
            self.options.endpoint_name,
            self.settings.home,
            "on" if self.options.inference_logging else "off",
        )
        if self.options.inference_logging:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            replayed = await asyncio.to_thread(replay_dead_workers, self.state_dir, self.table_path)
            if replayed:
                log.info("Worker %s replayed %d logged entries", self.worker_id, replayed)
            self.logger = InferenceLogger(
                self.state_dir,
                self.table_path,
                worker_id=self.worker_id,
                flush_interval=self.options.flush_interval,
                fsync_interval=self.options.fsync_interval,
            )
            self.logger.start()
        await asyncio.to_thread(self.state.refresh)
        if self.state.snapshot is None:
            log.warning(
                "Endpoint %s is not ready: %s", self.options.endpoint_name, self.state.problem
            )
        self._poll_task = asyncio.create_task(self._poll_forever())

    async def stop(self) -> None:
        if self._poll_task is not None:
            self._poll_task.cancel()
            await asyncio.gather(self._poll_task, return_exceptions=True)
        if self.logger is not None:
            await asyncio.to_thread(self.logger.close)
            remove_ack(self.state_dir, self.worker_id)
        log.info("Worker %s of endpoint %s stopped", self.worker_id, self.options.endpoint_name)

    def log_entry(self, entry: dict[str, Any]) -> None:
        if self.logger is not None:
            self.logger.log(entry)

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.options.poll_interval)
            try:
                await asyncio.to_thread(self._poll_once)
            except Exception:
                # The loop must survive a failed poll, or later swaps would never happen.
                log.exception("Poll of worker %s failed; retrying next interval", self.worker_id)

    def _poll_once(self) -> None:
        self.state.refresh()
        if self.logger is None:
            return
        generation = read_generation(self.state_dir)
        if generation > self._acked_generation:
            self.logger.flush()
            write_ack(self.state_dir, self.worker_id, generation)
            self._acked_generation = generation
