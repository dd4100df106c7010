"""Handing deliveries to the relay: one ``deliver`` job per request (``core.queue``).

The deliveries are committed before the job is enqueued and are due at once, so if
Redis cannot take the job the relay's sweeper claims them anyway: a failed enqueue
costs latency, never a delivery, and the request still succeeds.
"""

from __future__ import annotations

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from core.queue import DELIVER

log = structlog.get_logger()


async def enqueue_deliver(queue: ArqRedis, delivery_ids: list[str]) -> bool:
    """Ask the relay to attempt ``delivery_ids`` now; False if Redis failed."""
    if not delivery_ids:
        return True
    try:
        await queue.enqueue_job(DELIVER, delivery_ids)
    except (TimeoutError, RedisError, OSError) as e:
        log.warning(
            "enqueue_failed", job=DELIVER, deliveries=len(delivery_ids), error=type(e).__name__
        )
        return False
    return True
