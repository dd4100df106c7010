"""Group commit: many concurrent callers, one transaction, one fsync.

A caller ``submit``s an item and waits; a single flusher takes everything queued,
commits it in one batch and releases each caller with its own result only after the
batch is durable. There is no timer: while one batch commits, the next one gathers,
so an idle system commits at once and a busy one commits in large batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitter(Generic[T, R]):
    """Batches ``submit`` calls into calls of ``commit_batch``.

    ``commit_batch`` gets the items in arrival order and returns one result per
    item; if it raises, every caller of that batch gets the exception.
    """

    def __init__(
        self,
        commit_batch: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        max_batch: int = 256,
    ) -> None:
        self._commit_batch = commit_batch
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Commit ``item`` with whatever else is waiting; its result once durable."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        # shield: a caller that gives up (client gone) must not cancel the batch others wait on.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._commit(batch)
        finally:
            self._flusher = None

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._commit_batch([item for item, _ in batch])
        except Exception as e:
            # Not swallowed: every caller of the batch receives it.
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        """Wait for the batch in flight (if any) to finish."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
