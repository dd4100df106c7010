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
"""

from __future__ import annotations

from typing import Any

import orjson
from arq.connections import ArqRedis
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

QUEUE_NAME = "hookgate:queue"
DISPATCH_EVENTS = "dispatch_events"
DELIVER = "deliver"


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
