"""The fast path from a committed event to the relay: batched ``dispatch_events`` jobs.

``push`` never blocks the answer to a provider: ids are gathered while the previous
enqueue is in flight and sent as one job. If Redis is down the batch is dropped with
a warning and a metric; the events are committed, so the relay's sweeper dispatches
them anyway (storage is the source of truth, the queue only saves latency).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from redis.exceptions import RedisError

from core.queue import DISPATCH_EVENTS

log = structlog.get_logger()
Enqueue = Callable[[str, list[str]], Awaitable[object]]


class DispatchQueue:
    """Collects committed event ids and enqueues them in batches."""

    def __init__(
        self, enqueue: Enqueue, on_failure: Callable[[], None], max_batch: int = 500
    ) -> None:
        self._enqueue = enqueue
        self._on_failure = on_failure
        self._max_batch = max_batch
        self._pending: list[str] = []
        self._flusher: asyncio.Task[None] | None = None

    def push(self, event_id: str) -> None:
        """Schedule ``event_id`` for dispatch (returns at once)."""
        self._pending.append(event_id)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._send(batch)
        finally:
            self._flusher = None

    async def _send(self, batch: list[str]) -> None:
        try:
            await self._enqueue(DISPATCH_EVENTS, batch)
        except (TimeoutError, RedisError, OSError) as e:
            self._on_failure()
            log.warning("enqueue_failed", events=len(batch), error=type(e).__name__)

    async def close(self) -> None:
        """Send what is pending (called on shutdown)."""
        if self._flusher is not None:
            await self._flusher
