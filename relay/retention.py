"""The retention purge: every ``retention.interval`` one worker deletes the rows past
``retention.events`` and ``retention.attempts`` (``storage.retention`` says which).

- **One worker at a time.** A purge runs under the ``retention`` lease
  (``storage.locks``), renewed as it goes; a worker that finds the lease held skips
  the round. A holder that dies blocks the others only until its lease runs out.
- **Gentle.** Rows go in batches of ``batch_size`` events (or attempts; 100 by default,
  5-20 ms of deletes on this machine: see ``bench/retention.py``), each its own
  short transaction, and after each batch the purger rests as long as the batch took:
  it holds the database (SQLite's one writer) at most half the time, and ingest never
  waits longer than one batch.
- **Counted**: ``hookgate_purged_total{kind}``, and one ``purged`` log line per purge.

``hookgate purge`` runs ``Purger.purge`` (or ``preview``) once, under the same lease.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from contextlib import aclosing

import structlog

from core.clock import SECOND_US, Clock, now_us
from core.config import RetentionConfig
from core.signals import sleep_unless_stopped
from relay.metrics import PURGED_KINDS, RelayMetrics
from storage import Storage, StorageError
from storage.retention import Cutoffs, Purged

log = structlog.get_logger()
LEASE_NAME = "retention"
LEASE_S = 60.0
BATCH_SIZE = 100


class Purger:
    """Purges what retention lets go, once or every interval."""

    def __init__(
        self,
        *,
        storage: Storage,
        config: RetentionConfig,
        metrics: RelayMetrics,
        clock: Clock = now_us,
        batch_size: int = BATCH_SIZE,
        lease_s: float = LEASE_S,
    ) -> None:
        self._storage = storage
        self._config = config
        self._metrics = metrics
        self._clock = clock
        self._batch_size = batch_size
        self._lease_s = lease_s
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    @property
    def keeps_everything(self) -> bool:
        """Whether both ages are 0 (keep forever): nothing ever goes."""
        return not self._config.events_s and not self._config.attempts_s

    def cutoffs(self) -> Cutoffs:
        """Rows created before these times go now."""
        now = self._clock()

        def before(age_s: float) -> int | None:
            return None if not age_s else now - int(age_s * SECOND_US)

        return Cutoffs(before(self._config.events_s), before(self._config.attempts_s))

    async def preview(self) -> Purged:
        """What a purge now would delete (deletes nothing)."""
        return await self._storage.retention.count(self.cutoffs())

    async def run(self, stop: asyncio.Event) -> None:
        """Purge now, then every ``retention.interval``, until ``stop`` is set."""
        if self.keeps_everything:
            return
        while not stop.is_set():
            try:
                await self.purge(stop)
            except Exception:  # storage down: say so, try again next interval
                log.exception("purge_failed")
            await sleep_unless_stopped(stop, self._config.interval_s)

    async def purge(self, stop: asyncio.Event | None = None) -> Purged | None:
        """Purge once, batch by batch, until nothing is left or ``stop`` is set; what went,
        or None if another worker holds the lease."""
        if self.keeps_everything:
            return Purged()
        locks = self._storage.locks
        if not await locks.acquire(LEASE_NAME, self.holder, self._lease_s):
            log.debug("purge_skipped", holder=await locks.holder(LEASE_NAME))
            return None
        total = Purged()
        started = time.monotonic()
        try:
            total = await self._batches(stop)
        finally:
            await self._release()
        if total.rows:
            log.info(
                "purged",
                events=total.events,
                deliveries=total.deliveries,
                attempts=total.attempts,
                seconds=round(time.monotonic() - started, 3),
            )
        return total

    async def _batches(self, stop: asyncio.Event | None) -> Purged:
        total = Purged()
        renewed = time.monotonic()
        async with aclosing(
            self._storage.retention.purge(self.cutoffs(), self._batch_size)
        ) as batches:
            began = time.perf_counter()
            async for purged in batches:
                took = time.perf_counter() - began
                self._count(purged)
                total += purged
                if stop is not None and stop.is_set():
                    break
                if time.monotonic() - renewed > self._lease_s / 3:
                    if not await self._storage.locks.acquire(
                        LEASE_NAME, self.holder, self._lease_s
                    ):
                        log.warning("purge_lease_lost")
                        break
                    renewed = time.monotonic()
                # Rest as long as the batch took: the purge never holds the database
                # more than half the time, whatever the batch costs on this machine.
                await asyncio.sleep(took)
                began = time.perf_counter()
        return total

    def _count(self, purged: Purged) -> None:
        for kind in PURGED_KINDS:
            self._metrics.purged.labels(kind).inc(getattr(purged, kind))

    async def _release(self) -> None:
        try:
            await self._storage.locks.release(LEASE_NAME, self.holder)
        except StorageError as e:  # the lease runs out by itself
            log.warning("purge_release_failed", error=str(e))
