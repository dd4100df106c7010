"""The running relay: every part of one worker, wired once and closed symmetrically.

``open_relay`` opens what a worker holds — storage, the shared HTTP session, a Redis
client for enqueueing — builds the parts on top, and on exit drains attempts before
anything they use is closed. The arq worker finds it in its ``ctx``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from core.config import Config
from core.queue import DISPATCH_EVENTS, QUEUE_NAME, close_queue, connect_queue
from relay.attempts import Attempts
from relay.breaker import Breakers
from relay.dispatcher import Dispatcher
from relay.handlers import load_handlers
from relay.http import Sender, open_session
from relay.limits import Limits
from relay.metrics import RelayMetrics
from relay.operational import Announcer
from relay.recorder import Recorder
from relay.sweeper import Enqueued, Sweeper
from relay.timing import Timing, timing_for
from storage import Storage, open_storage

log = structlog.get_logger()
# Attempts (and sockets) one worker runs at once.
CONNECTIONS = 256
STORAGE_POOL = 16


@dataclass(frozen=True)
class Relay:
    """One worker's relay."""

    config: Config
    timing: Timing
    storage: Storage
    metrics: RelayMetrics
    attempts: Attempts
    dispatcher: Dispatcher
    sweeper: Sweeper
    queue_name: str


class Enqueuer:
    """Enqueues ``dispatch_events`` jobs; reports failure instead of raising."""

    def __init__(self, queue: ArqRedis, queue_name: str) -> None:
        self._queue = queue
        self._queue_name = queue_name

    async def dispatch(self, event_ids: list[str], job_id: str | None = None) -> Enqueued:
        """Enqueue a ``dispatch_events`` job: ``enqueued``, ``waiting`` (a job with
        ``job_id`` is already queued) or ``failed`` (Redis could not take it)."""
        try:
            job = await self._queue.enqueue_job(
                DISPATCH_EVENTS, event_ids, _job_id=job_id, _queue_name=self._queue_name
            )
        except (RedisError, OSError) as e:
            log.warning("enqueue_failed", events=len(event_ids), error=type(e).__name__)
            return "failed"
        return "waiting" if job is None else "enqueued"

    async def depth(self) -> int | None:
        """Jobs in the queue (waiting or running); None if Redis cannot say."""
        try:
            return int(await self._queue.zcard(self._queue_name))
        except (RedisError, OSError):
            return None

    async def dispatch_soon(self, event_ids: list[str]) -> None:
        """Best effort: if Redis is down the sweeper dispatches them a little later."""
        await self.dispatch(event_ids)


@asynccontextmanager
async def open_relay(
    config: Config,
    *,
    metrics: RelayMetrics | None = None,
    queue_name: str = QUEUE_NAME,
    shared_storage: Storage | None = None,
) -> AsyncIterator[Relay]:
    """Open a worker's relay for the duration of the block.

    ``shared_storage``, if given, is used and left open: in one process with the gateway
    (``hookgate dev``) share it, so that on SQLite both write through one writer thread
    instead of two connections contending for the file lock.
    """
    handlers = load_handlers(config.handlers)
    timing = timing_for(config.delivery)
    metrics = metrics or RelayMetrics()
    allowed = config.security.allowed_target_networks
    queue = connect_queue(config.redis_url)
    enqueuer = Enqueuer(queue, queue_name)
    try:
        async with (
            _storage(config, shared_storage) as storage,
            open_session(allowed, connections=CONNECTIONS) as session,
        ):
            await storage.check_schema()
            recorder = Recorder(storage.deliveries, storage.subscriptions)
            limits = Limits(CONNECTIONS, timing.admission_wait_s)
            breakers = Breakers(
                storage.subscriptions, storage.deliveries, config.delivery, timing.probe_hold_s
            )
            attempts = Attempts(
                storage=storage,
                sender=Sender(session, allowed, timing.attempt_timeout_s),
                handlers=handlers,
                limits=limits,
                breakers=breakers,
                recorder=recorder,
                announcer=Announcer(storage.events, config.handlers, enqueuer.dispatch_soon),
                metrics=metrics,
                config=config.delivery,
            )
            dispatcher = Dispatcher(
                storage=storage,
                handlers=config.handlers,
                attempts=attempts,
                breakers=breakers,
                metrics=metrics,
                lease_s=timing.lease_s,
            )
            sweeper = Sweeper(
                storage=storage,
                dispatcher=dispatcher,
                limits=limits,
                metrics=metrics,
                timing=timing,
                queue=enqueuer,
            )
            try:
                yield Relay(
                    config=config,
                    timing=timing,
                    storage=storage,
                    metrics=metrics,
                    attempts=attempts,
                    dispatcher=dispatcher,
                    sweeper=sweeper,
                    queue_name=queue_name,
                )
            finally:
                await attempts.drain(timing.drain_s)
                await sweeper.settle()
                await dispatcher.close()
                await recorder.close()
    finally:
        await close_queue(queue)


@asynccontextmanager
async def _storage(config: Config, shared: Storage | None) -> AsyncIterator[Storage]:
    if shared is not None:
        yield shared
        return
    async with open_storage(
        config.storage_url, config.security.secret_key, pool_size=STORAGE_POOL
    ) as storage:
        yield storage
