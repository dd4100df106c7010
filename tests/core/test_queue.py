"""The queue client: jobs reach Redis with the relay's names, and Redis trouble is an
answer ("failed", an unknown depth), counted once per job, never an exception."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from core.queue import DELIVER, DISPATCH_EVENTS, Queue, close_queue, connect_queue

REDIS_URL = "redis://127.0.0.1:6379/0"
NOBODY_URL = "redis://127.0.0.1:1/0"  # connections refused
NAME = f"hookgate:test:{secrets.token_hex(6)}"


@pytest.fixture
async def redis() -> AsyncIterator[ArqRedis]:
    """A connection to the machine's Redis; the test queue's keys removed afterwards."""
    connection = connect_queue(REDIS_URL)
    yield connection
    for job_id in await connection.zrange(NAME, 0, -1):
        await connection.delete(b"arq:job:" + job_id)
    await connection.delete(NAME)
    await close_queue(connection)


async def test_jobs_are_enqueued_once_per_job_id(redis: ArqRedis) -> None:
    """Each call is one job; a dispatch job whose id is still queued is not enqueued twice."""
    queue = Queue(redis, name=NAME)

    first = await queue.dispatch_events(["evt_1", "evt_2"], job_id="chunk-a")
    again = await queue.dispatch_events(["evt_1", "evt_2"], job_id="chunk-a")
    deliver = await queue.deliver(["dlv_1"])

    jobs = await redis.queued_jobs(queue_name=NAME)
    assert ("enqueued", "waiting", "enqueued") == (first, again, deliver)
    assert 2 == await queue.depth()
    assert sorted([(DISPATCH_EVENTS, ["evt_1", "evt_2"]), (DELIVER, ["dlv_1"])]) == sorted(
        (job.function, job.args[0]) for job in jobs
    )


async def test_redis_down_is_an_answer_not_an_exception() -> None:
    """With Redis unreachable every job answers "failed" and is counted, the depth is
    unknown, and only ``ping`` (readiness) raises."""
    failures: list[None] = []
    queue = Queue.connect(NOBODY_URL, on_failure=lambda: failures.append(None))
    try:
        answers = [await queue.dispatch_events(["evt_1"]), await queue.deliver(["dlv_1"])]
        depth = await queue.depth()
        with pytest.raises((RedisError, OSError)):
            await queue.ping()
    finally:
        await queue.close()

    assert (["failed", "failed"], None, 2) == (answers, depth, len(failures))
