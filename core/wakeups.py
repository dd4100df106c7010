"""Wake-ups: "storage has new changes", said over Redis pub/sub to every gateway.

A wake-up carries nothing that storage does not have (there is no payload at all): the
gateway that hears one reads the change feed (``storage.changes``). So a lost wake-up
costs latency, never a record, and readers poll storage now and then anyway.

``notify`` is for hot paths (ingest, the relay's recorder): it returns at once, and one
task publishes for every notify made since its last publish, so a burst of commits
costs one message in flight at a time, not one per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import structlog
from redis.asyncio import Redis

from core.queue import REDIS_TROUBLE

log = structlog.get_logger()
CHANNEL = "hookgate:changes"


class Wakeups:
    """Publishes and hears wake-ups on ``channel``."""

    def __init__(self, redis: Redis, *, channel: str = CHANNEL) -> None:
        self._redis = redis
        self._channel = channel
        self._wanted = False
        self._publisher: asyncio.Task[None] | None = None

    @classmethod
    def connect(cls, redis_url: str, *, channel: str = CHANNEL) -> Wakeups:
        """Wake-ups over ``redis_url`` (no I/O until first use); ``close`` them."""
        redis = Redis.from_url(
            redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
        return cls(redis, channel=channel)

    def notify(self) -> None:
        """Say, soon, that something was committed (call after the commit)."""
        self._wanted = True
        if self._publisher is None:
            self._publisher = asyncio.create_task(self._publish())

    async def _publish(self) -> None:
        try:
            while self._wanted:
                self._wanted = False
                try:
                    await self._redis.publish(self._channel, b"")
                except REDIS_TROUBLE as e:
                    log.warning("wakeup_failed", error=type(e).__name__)
                    return
        finally:
            self._publisher = None

    async def heard(self) -> AsyncIterator[None]:
        """One item once subscribed (wake-ups published before were not heard: look
        now), then one per wake-up heard, until cancelled; raises on Redis trouble
        (``REDIS_TROUBLE``), so that the caller can fall back to polling and retry."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            yield None
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    yield None
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Publish what is pending, then close the connection."""
        if self._publisher is not None:
            await asyncio.shield(self._publisher)
        try:
            await self._redis.aclose()
        except REDIS_TROUBLE as e:
            log.warning("wakeups_close_failed", error=type(e).__name__)
