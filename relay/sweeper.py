"""The sweeper: every ``delivery.sweep_interval_s``, re-drive what storage says is due.

Each worker runs one; storage arbitrates between them. A pass:

1. **Undispatched events** older than ``redispatch_after_s`` (their
   ``dispatch_events`` job was lost: Redis flushed or restarted, the gateway could not
   enqueue, a worker died before dispatching) are enqueued again — or, if Redis
   cannot take them, dispatched in this process. ``dispatch_many`` creates each
   event's deliveries once, so a duplicate costs one no-op query. While the queue
   holds a backlog (``BUSY_QUEUE_JOBS`` or more), an undispatched event is most likely
   waiting in it: then only events older than ``STALE_AFTER_S`` are re-driven, so a
   burst does not make the sweeper re-enqueue the very events the queue is about to
   deliver. Chunks get a job id derived from their ids, so a chunk still queued is not
   enqueued twice.
2. **Due deliveries** — retries whose time has come, deliveries postponed by a breaker
   or a limit, and deliveries whose lease ran out (a killed worker, a lost job) — are
   claimed (``claim_due``: leased, never to two workers) and attempted in this process,
   no more than this worker has free attempt slots: each worker takes what it can do,
   so a backlog spreads over workers without ever being claimed faster than it is
   delivered (a claimed delivery waiting in a queue would see its lease run out).
   Of a fifo subscription only the head of its line is claimable (``storage.deliveries``):
   this is how a retry that came due, or a head whose worker died, gets going again.
3. The due backlog is measured for the metrics.

When a pass found a full batch the next one follows at once, else after the interval.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from typing import Protocol

import structlog

from core.clock import SECOND_US, Clock, now_us
from core.queue import Enqueued
from relay.dispatcher import Dispatcher
from relay.limits import Limits
from relay.metrics import RelayMetrics
from relay.timing import Timing
from storage import Storage

log = structlog.get_logger()
EVENT_BATCH = 500
JOB_EVENTS = 100
CLAIM_BATCH = 256
BUSY_PAUSE_S = 0.05
BUSY_QUEUE_JOBS = 20
STALE_AFTER_S = 300.0


class EventQueue(Protocol):
    """What the sweeper needs of the queue client (``core.queue.Queue``)."""

    async def dispatch_events(self, event_ids: list[str], job_id: str | None = None) -> Enqueued:
        """Enqueue ``event_ids`` as one dispatch job (``waiting``: already queued)."""
        ...

    async def depth(self) -> int | None:
        """Jobs in the queue (waiting or running); None if Redis cannot say."""
        ...


class Sweeper:
    """Re-drives undispatched events and due deliveries."""

    def __init__(
        self,
        *,
        storage: Storage,
        dispatcher: Dispatcher,
        limits: Limits,
        metrics: RelayMetrics,
        timing: Timing,
        queue: EventQueue,
        clock: Clock = now_us,
    ) -> None:
        self._storage = storage
        self._dispatcher = dispatcher
        self._limits = limits
        self._metrics = metrics
        self._timing = timing
        self._queue = queue
        self._clock = clock
        self._background: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until ``stop`` is set; what it started is left to ``Attempts.drain``."""
        while not stop.is_set():
            try:
                more = await self.sweep()
            except Exception:  # storage or Redis down: say so, try again next interval
                log.exception("sweep_failed")
                more = False
            pause = BUSY_PAUSE_S if more else self._timing.sweep_interval_s
            try:
                async with asyncio.timeout(pause):
                    await stop.wait()
            except TimeoutError:
                continue

    async def sweep(self) -> bool:
        """One pass; whether a batch was full (more may be waiting)."""
        more_events = await self._redispatch()
        more_deliveries = await self._reclaim()
        self._metrics.due.set(await self._storage.deliveries.due_count())
        return more_events or more_deliveries

    async def settle(self) -> None:
        """Wait for the re-drives this sweeper started to be sent (tests, burst runs)."""
        while self._background:
            await asyncio.gather(*set(self._background), return_exceptions=True)

    async def _redispatch(self) -> bool:
        depth = await self._queue.depth()
        busy = depth is not None and depth >= BUSY_QUEUE_JOBS
        age_s = STALE_AFTER_S if busy else self._timing.redispatch_after_s
        event_ids = await self._storage.events.undispatched(
            self._clock() - int(age_s * SECOND_US), EVENT_BATCH
        )
        redriven = 0
        for start in range(0, len(event_ids), JOB_EVENTS):
            chunk = event_ids[start : start + JOB_EVENTS]
            job_id = "redispatch:" + hashlib.sha256(",".join(chunk).encode()).hexdigest()[:32]
            enqueued = await self._queue.dispatch_events(chunk, job_id)
            if enqueued == "failed":
                self._start(self._dispatcher.dispatch(chunk))
            if enqueued != "waiting":
                redriven += len(chunk)
        if redriven:
            self._metrics.redrives.labels("events").inc(redriven)
            log.info("events_redriven", events=redriven, queue_depth=depth)
        return len(event_ids) == EVENT_BATCH and not busy

    async def _reclaim(self) -> bool:
        limit = min(self._limits.free, CLAIM_BATCH)
        if limit <= 0:
            return False
        claimed = await self._storage.deliveries.claim_due(self._timing.lease_s, limit)
        if claimed:
            self._metrics.redrives.labels("deliveries").inc(len(claimed))
            self._start(self._dispatcher.attempt(claimed))
        return len(claimed) == limit

    def _start(self, work: Awaitable[object]) -> None:
        async def run() -> None:
            """Await the re-drive; a failure is logged (the leases run out, later passes retry)."""
            try:
                await work
            except Exception:  # the leases run out; the next passes try again
                log.exception("redrive_failed")

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
