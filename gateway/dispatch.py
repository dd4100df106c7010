"""The fast path from a committed event to the relay: batched ``dispatch_events`` jobs.

``push`` never blocks the answer to a provider: ids are gathered while the previous
enqueue is in flight and sent as one job. If Redis is down the batch is dropped (the
queue client logs and counts it); the events are committed, so the relay's sweeper
dispatches them anyway (storage is the source of truth, the queue only saves latency).
"""

from __future__ import annotations

import asyncio

from core.queue import Queue


class DispatchQueue:
    """Collects committed event ids and enqueues them in batches."""

    def __init__(self, queue: Queue, max_batch: int = 500) -> None:
        self._queue = queue
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
                await self._queue.dispatch_events(batch)
        finally:
            self._flusher = None

    async def close(self) -> None:
        """Send what is pending (called on shutdown)."""
        if self._flusher is not None:
            await self._flusher
