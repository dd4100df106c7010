"""The bulk runner against real storage (both backends) and Redis: a job whose runner
died is finished by another from its cursor with every item applied once, a runner
that lost its lease applies nothing, a cancel stops a job at its next batch, and a
stopping worker lets go of its job."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from core.clock import SECOND_US, now_us
from core.queue import Queue, connect_queue
from relay.bulk import BulkRunner
from storage import Storage
from storage.events import ReplayFilter
from storage.jobs import Job
from tests.relay.conftest import REDIS_URL, Harness

BATCH = 2
LEASE_S = 30.0


@pytest.fixture
async def queue(harness: Harness) -> AsyncIterator[Queue]:
    """A queue client on the harness's queue."""
    client = Queue(connect_queue(REDIS_URL), name=harness.relay.queue_name)
    yield client
    await client.close()


def runner(storage: Storage, queue: Queue, *, late_s: float = 0) -> BulkRunner:
    """A runner applying ``BATCH`` items a batch, its clock ``late_s`` ahead."""
    return BulkRunner(
        storage=storage,
        queue=queue,
        handlers=(),
        poll_interval_s=0.05,
        batch=BATCH,
        lease_s=LEASE_S,
        clock=lambda: now_us() + int(late_s * SECOND_US),
    )


async def replay_job(harness: Harness, events: int) -> tuple[list[str], Job]:
    """``events`` events (ids in the order a job goes through them), a subscription
    wanting them, and a job replaying them."""
    await harness.subscribe("https://hooks.example.org/in")
    event_ids = sorted([await harness.event() for _ in range(events)])
    user, _ = await harness.storage.users.create("Ops", "ops@example.com", "operator")
    return event_ids, await harness.storage.jobs.create(user.id, ReplayFilter())


async def deliveries_per_event(harness: Harness, event_ids: list[str]) -> list[int]:
    """How many deliveries each event has."""
    counts = Counter(d.event_id for d in await harness.deliveries())
    return [counts[event_id] for event_id in event_ids]


async def test_a_job_whose_runner_died_is_finished_by_another_applying_each_item_once(
    harness: Harness, queue: Queue
) -> None:
    """Runner A holds the job and applies one batch, then "dies"; once its lease has run
    out runner B takes the job over from the cursor and finishes it. A, back, finds it
    lost and applies nothing: every event was replayed exactly once."""
    event_ids, job = await replay_job(harness, 5)
    first = runner(harness.storage, queue)
    second = runner(harness.storage, queue, late_s=LEASE_S + 1)

    held = await first.hold()
    assert held is not None
    after_one = await first.step(held)
    early = await runner(harness.storage, queue).run_due()
    taken_over = await second.run_due()
    stale = await first.step(held)
    finished = await harness.storage.jobs.get(job.id)

    assert (job.id, 2) == (held.id, after_one.done if after_one else None)
    assert (0, 1, None) == (early, taken_over, stale)
    assert ("succeeded", 5, 5, 0) == (
        finished.status,
        finished.matched,
        finished.done,
        finished.skipped,
    )
    assert [1] * 5 == await deliveries_per_event(harness, event_ids)


async def test_a_cancelled_job_stops_at_its_next_batch(harness: Harness, queue: Queue) -> None:
    """After one batch the job is cancelled: its runner stops, the rest is untouched."""
    event_ids, job = await replay_job(harness, 5)
    bulk = runner(harness.storage, queue)
    held = await bulk.hold()
    assert held is not None
    await bulk.step(held)

    await harness.storage.jobs.cancel(job.id)
    last_seen = await bulk.finish(held)
    finished = await harness.storage.jobs.get(job.id)

    assert last_seen is None
    assert ("cancelled", 2) == (finished.status, finished.done)
    assert [1, 1, 0, 0, 0] == await deliveries_per_event(harness, event_ids)


async def test_a_stopping_worker_lets_go_of_its_job_for_another_to_finish(
    harness: Harness, queue: Queue
) -> None:
    """A runner told to stop releases its job; another runner takes it at once."""
    event_ids, job = await replay_job(harness, 3)
    stop = asyncio.Event()
    bulk = runner(harness.storage, queue)
    held = await bulk.hold()
    assert held is not None
    await bulk.step(held)
    stop.set()

    await bulk.finish(held, stop)
    taken_over = await runner(harness.storage, queue).run_due()

    assert 1 == taken_over
    assert "succeeded" == (await harness.storage.jobs.get(job.id)).status
    assert [1, 1, 1] == await deliveries_per_event(harness, event_ids)


async def test_the_worker_runs_a_job_when_woken(harness: Harness) -> None:
    """The worker's own runner, woken by the ``run_jobs`` arq job, finishes the job: each
    event goes to its current targets (the subscription, and the harness's handler)."""
    _, job = await replay_job(harness, 3)
    stop = asyncio.Event()
    loop = asyncio.create_task(harness.relay.bulk.run(stop))
    client = Queue(connect_queue(REDIS_URL), name=harness.relay.queue_name)
    try:
        assert "enqueued" == await client.run_jobs()
        await harness.run_jobs()
        for _ in range(200):
            if (await harness.storage.jobs.get(job.id)).status != "running":
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await loop
        await client.close()

    targets = sorted(d.target for d in await harness.deliveries())
    assert "succeeded" == (await harness.storage.jobs.get(job.id)).status
    assert ["handler:audit"] * 3 + ["https://hooks.example.org/in"] * 3 == targets
