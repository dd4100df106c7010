"""The bulk runner: each worker runs the stored bulk retries and replays (``storage.jobs``).

A runner holds one job at a time under a lease and applies it in batches of ``BATCH``
items in id order, each batch one transaction with the job's cursor (``Jobs.step``).
It is woken at once by the ``run_jobs`` arq job the API enqueues, and polls every
sweep interval for jobs nobody holds — new ones whose wake-up was lost, and those
whose worker died (their lease ran out). On stop it lets go of its job so that another
worker takes it over at once. Each poll also deletes a bounded batch of expired
``Idempotency-Key`` records (``storage.idempotency``), the one chore those need.

- **retry**: every delivery the job's filter selects becomes pending and due now
  (``retry_now``), except one whose subscription was deleted or is disabled (skipped,
  as a single retry refuses it). Its ids go to the queue as ``deliver`` jobs; the
  sweeper attempts any the queue loses.
- **replay**: every event selected gets fresh deliveries to its current targets
  (``policy.matching.targets_for``, the single replay's rule), or to the job's one
  subscription; an event no target wants is skipped.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Sequence
from typing import Protocol

import structlog

from core.clock import Clock, now_us
from core.config import HandlerConfig
from core.queue import Enqueued
from policy.matching import targets_for
from storage import Storage, StorageUnavailableError
from storage.database import Connection
from storage.deliveries import create_planned
from storage.events import ReplayFilter, replay_candidates
from storage.jobs import Job, Progress
from storage.records import Subscription, error_detail
from storage.retries import RetryFilter, retry_candidates, retry_now

log = structlog.get_logger()
BATCH = 500
LEASE_S = 30.0


class DeliveryQueue(Protocol):
    """What the runner needs of the queue client (``core.queue.Queue``)."""

    async def deliver(self, delivery_ids: list[str]) -> Enqueued:
        """Enqueue a ``deliver`` job for ``delivery_ids``."""
        ...


class BulkRunner:
    """Runs stored bulk jobs, one at a time, batch by batch."""

    def __init__(
        self,
        *,
        storage: Storage,
        queue: DeliveryQueue,
        handlers: Sequence[HandlerConfig],
        poll_interval_s: float,
        batch: int = BATCH,
        lease_s: float = LEASE_S,
        clock: Clock = now_us,
    ) -> None:
        self._storage = storage
        self._queue = queue
        self._handlers = tuple(handlers)
        self._poll_interval_s = poll_interval_s
        self._batch = batch
        self._lease_s = lease_s
        self._clock = clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for jobs now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run jobs until ``stop`` is set, polling every interval and when woken."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.run_due(stop)
                await self._storage.idempotency.purge_expired()
            except Exception:  # storage down: the job's lease runs out, a later poll resumes
                log.exception("bulk_poll_failed")
            try:
                async with asyncio.timeout(self._poll_interval_s):
                    await _first(stop, self._wake)
            except TimeoutError:
                continue

    async def run_due(self, stop: asyncio.Event | None = None) -> int:
        """Run every job nobody holds until none is left (or ``stop``); how many."""
        ran = 0
        while stop is None or not stop.is_set():
            job = await self.hold()
            if job is None:
                break
            await self.finish(job, stop)
            ran += 1
        return ran

    async def hold(self) -> Job | None:
        """Lease the oldest running job nobody holds to this runner; None if none."""
        return await self._storage.jobs.hold(self.holder, self._lease_s, now=self._clock())

    async def finish(self, job: Job, stop: asyncio.Event | None = None) -> Job | None:
        """Apply the held ``job`` batch by batch until it ends, is cancelled, is taken
        over or ``stop`` is set; the job as this runner last saw it (None if lost)."""
        current: Job | None = job
        while current is not None and current.status == "running":
            if stop is not None and stop.is_set():
                await self._storage.jobs.release(job.id, self.holder)
                return current
            current = await self._step_or_fail(current)
        if current is not None:
            log.info(
                "bulk_job_finished",
                job_id=job.id,
                status=current.status,
                done=current.done,
                skipped=current.skipped,
            )
        return current

    async def _step_or_fail(self, job: Job) -> Job | None:
        try:
            return await self.step(job)
        except StorageUnavailableError:
            raise
        except Exception as e:  # a job that cannot go on is failed, not retried for ever
            log.exception("bulk_job_failed", job_id=job.id)
            await self._storage.jobs.fail(job.id, self.holder, error_detail(e))
            return None

    async def step(self, job: Job) -> Job | None:
        """Apply the next batch of the held ``job``; the job after it (None if this
        runner no longer holds it or it was cancelled: nothing was applied)."""
        to_deliver: list[str] = []
        subscriptions: list[Subscription] = []
        if isinstance(job.filter, ReplayFilter):
            subscriptions = await self._storage.subscriptions.enabled()

        async def work(tx: Connection, held: Job) -> Progress:
            """The batch, in the transaction that moves the cursor."""
            if isinstance(held.filter, RetryFilter):
                return await self._retry(tx, held, held.filter, to_deliver)
            return await self._replay(tx, held, held.filter, subscriptions, to_deliver)

        after = await self._storage.jobs.step(
            job.id, self.holder, self._lease_s, work, now=self._clock()
        )
        await self._queue.deliver(to_deliver)
        return after

    async def _retry(
        self, tx: Connection, job: Job, f: RetryFilter, to_deliver: list[str]
    ) -> Progress:
        found = await retry_candidates(tx, f, job.cursor, self._batch)
        live = [candidate.id for candidate in found if candidate.live]
        await retry_now(tx, live, f.statuses, self._clock())
        to_deliver += live
        return Progress(
            cursor=found[-1].id if found else None,
            done=len(found),
            skipped=len(found) - len(live),
            last=len(found) < self._batch,
        )

    async def _replay(
        self,
        tx: Connection,
        job: Job,
        f: ReplayFilter,
        subscriptions: Sequence[Subscription],
        to_deliver: list[str],
    ) -> Progress:
        events = await replay_candidates(tx, f, job.cursor, self._batch)
        if f.subscription_id is not None:
            only = [sub for sub in subscriptions if sub.id == f.subscription_id]
            plans = [(event.id, targets_for(event, only, ())) for event in events]
        else:
            plans = [
                (event.id, targets_for(event, subscriptions, self._handlers)) for event in events
            ]
        wanted = [(event_id, targets) for event_id, targets in plans if targets]
        created = await create_planned(tx, wanted, self._clock(), first_dispatch=False)
        to_deliver += [delivery.id for batch in created.values() for delivery in batch]
        return Progress(
            cursor=events[-1].id if events else None,
            done=len(events),
            skipped=len(events) - len(wanted),
            last=len(events) < self._batch,
        )


async def _first(*events: asyncio.Event) -> None:
    """Wait until any of ``events`` is set."""
    waits = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
