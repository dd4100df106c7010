"""The arq queue shared by the gateway (which enqueues) and the relay (which works).

Jobs carry ids only, serialised with orjson (never pickle); storage holds the data
and the delivery state, so a lost job costs latency, never an event: the relay's
sweeper re-drives anything storage says is undispatched, due or stuck.

Jobs:
    ``dispatch_events(event_ids: list[str])``: create each event's deliveries (once)
        and attempt them. The gateway enqueues one per group-commit batch.
    ``deliver(delivery_ids: list[str])``: attempt these deliveries now if they are due
        and nobody holds them (the worker claims them first, so enqueueing ids twice,
        or ids a worker is attempting, is harmless). For the API after an operator's
        retry or a replay; without it the sweeper picks them up within
        ``delivery.sweep_interval_s``.
    ``run_jobs()``: wake a worker's bulk runner (``relay.bulk``) to run stored bulk jobs
        now. It carries nothing: the jobs are rows, and every worker polls for them
        anyway, so a lost wake-up costs one sweep interval.

``Queue`` is the one client that enqueues them, for the gateway and the relay alike.
It never raises for Redis trouble: it answers what happened and logs one
``enqueue_failed`` event, because storage, not the queue, is what makes work durable.
``connect_queue`` opens the ``ArqRedis`` it (and an arq worker) runs on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import orjson
import structlog
from arq.connections import ArqRedis
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = structlog.get_logger()
QUEUE_NAME = "hookgate:queue"
DISPATCH_EVENTS = "dispatch_events"
DELIVER = "deliver"
RUN_JOBS = "run_jobs"
# What Redis trouble looks like to a client: its own errors, a socket's, a timeout's.
REDIS_TROUBLE = (RedisError, OSError, TimeoutError)

Enqueued = Literal["enqueued", "waiting", "failed"]
"""``enqueued``; ``waiting``: a job with that id is already queued; ``failed``: Redis
could not take it."""


def serialize(job: dict[str, Any]) -> bytes:
    """arq job serializer: orjson."""
    return orjson.dumps(job)


def deserialize(data: bytes) -> dict[str, Any]:
    """arq job deserializer: orjson."""
    job: dict[str, Any] = orjson.loads(data)
    return job


def connect_queue(redis_url: str, *, max_connections: int = 32) -> ArqRedis:
    """An ``ArqRedis`` over a blocking pool with timeouts (no I/O until first use).

    A blocking pool waits for a free connection instead of failing with "Too many
    connections"; socket timeouts stop a half-open connection from hanging forever.
    """
    pool = BlockingConnectionPool.from_url(
        redis_url,
        max_connections=max_connections,
        timeout=5,
        socket_timeout=5,
        socket_connect_timeout=2,
        socket_keepalive=True,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=1), 2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return ArqRedis(
        pool_or_conn=pool,
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=QUEUE_NAME,
    )


async def close_queue(queue: ArqRedis) -> None:
    """Close the client and its pool (a pool passed in is not closed by ``aclose()``)."""
    await queue.aclose(close_connection_pool=True)


class Queue:
    """Enqueues hookgate's jobs on queue ``name``; reports Redis trouble, never raises it.

    ``on_failure`` is called once per job Redis could not take (the gateway counts them).
    """

    def __init__(
        self,
        redis: ArqRedis,
        *,
        name: str = QUEUE_NAME,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self._redis = redis
        self._name = name
        self._on_failure = on_failure

    @classmethod
    def connect(
        cls, redis_url: str, *, name: str = QUEUE_NAME, on_failure: Callable[[], None] | None = None
    ) -> Queue:
        """A queue client for ``redis_url`` (no I/O until first use); ``close`` it."""
        return cls(connect_queue(redis_url), name=name, on_failure=on_failure)

    async def dispatch_events(self, event_ids: list[str], job_id: str | None = None) -> Enqueued:
        """Enqueue one ``dispatch_events`` job for ``event_ids`` (with id ``job_id``, if
        given, so that a job still queued is not enqueued twice)."""
        return await self._enqueue(DISPATCH_EVENTS, event_ids, job_id)

    async def deliver(self, delivery_ids: list[str]) -> Enqueued:
        """Enqueue one ``deliver`` job for ``delivery_ids`` (nothing to do if empty)."""
        if not delivery_ids:
            return "enqueued"
        return await self._enqueue(DELIVER, delivery_ids, None)

    async def run_jobs(self) -> Enqueued:
        """Enqueue one ``run_jobs`` wake-up (one at a time: ``waiting`` if one is queued)."""
        return await self._enqueue(RUN_JOBS, None, f"{RUN_JOBS}:{self._name}")

    async def depth(self) -> int | None:
        """Jobs in the queue (waiting or running); None if Redis cannot say."""
        try:
            return int(await self._redis.zcard(self._name))
        except REDIS_TROUBLE:
            return None

    async def ping(self) -> None:
        """Check that Redis answers. The one method that raises (``RedisError``,
        ``OSError``, ``TimeoutError``): readiness reports which error it was."""
        await self._redis.ping()

    async def close(self) -> None:
        """Close the client and its pool."""
        try:
            await close_queue(self._redis)
        except REDIS_TROUBLE as e:
            log.warning("queue_close_failed", error=type(e).__name__)

    async def _enqueue(self, job: str, ids: list[str] | None, job_id: str | None) -> Enqueued:
        args = () if ids is None else (ids,)
        try:
            queued = await self._redis.enqueue_job(
                job, *args, _job_id=job_id, _queue_name=self._name
            )
        except REDIS_TROUBLE as e:
            log.warning("enqueue_failed", job=job, ids=len(ids or ()), error=type(e).__name__)
            if self._on_failure is not None:
                self._on_failure()
            return "failed"
        return "waiting" if queued is None else "enqueued"
