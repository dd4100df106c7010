"""The running relay: every part of one worker, wired once and closed symmetrically.

``open_relay`` opens what a worker holds — storage, the shared HTTP session, a queue
client for enqueueing (``core.queue.Queue``) — builds the parts on top, all on one
clock, and on exit drains attempts before anything they use is closed. The arq worker
finds it in its ``ctx``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from core.clock import Clock, now_us
from core.config import Config
from core.queue import QUEUE_NAME, Queue
from core.wakeups import Wakeups
from relay.attempts import Attempts
from relay.breaker import Breakers
from relay.bulk import BulkRunner
from relay.calls import Calls
from relay.consequences import Consequences
from relay.dispatcher import Dispatcher
from relay.handlers import load_handlers
from relay.http import Sender, open_session
from relay.limits import Limits
from relay.metrics import RelayMetrics
from relay.observe import Gauges
from relay.operational import Announcer
from relay.recorder import Recorder
from relay.retention import Purger
from relay.sweeper import Sweeper
from relay.timing import Timing, timing_for
from storage import Storage, open_storage

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
    bulk: BulkRunner
    queue_name: str
    queue: Queue
    purger: Purger
    gauges: Gauges


@asynccontextmanager
async def open_relay(
    config: Config,
    *,
    metrics: RelayMetrics | None = None,
    queue_name: str = QUEUE_NAME,
    shared_storage: Storage | None = None,
    clock: Clock = now_us,
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
    queue = Queue.connect(config.redis_url, name=queue_name)
    wakeups = Wakeups.connect(config.redis_url)
    try:
        async with (
            _storage(config, shared_storage) as storage,
            open_session(allowed, connections=CONNECTIONS) as session,
        ):
            await storage.check_schema()
            recorder = Recorder(storage.attempts, on_commit=wakeups.notify)
            limits = Limits(CONNECTIONS, timing.admission_wait_s)
            breakers = Breakers(
                storage.subscriptions, storage.deliveries, config.delivery, timing.probe_hold_s
            )
            consequences = Consequences(
                subscriptions=storage.subscriptions,
                breakers=breakers,
                announcer=Announcer(storage.events, config.handlers, queue.dispatch_events),
                config=config.delivery,
            )
            attempts = Attempts(
                storage=storage,
                sender=Sender(session, allowed, timing.attempt_timeout_s, clock),
                calls=Calls(handlers, config.delivery.timeout_s, metrics, clock),
                limits=limits,
                breakers=breakers,
                recorder=recorder,
                consequences=consequences,
                metrics=metrics,
                config=config.delivery,
                clock=clock,
            )
            dispatcher = Dispatcher(
                storage=storage,
                handlers=config.handlers,
                attempts=attempts,
                breakers=breakers,
                metrics=metrics,
                lease_s=timing.lease_s,
                on_commit=wakeups.notify,
            )
            sweeper = Sweeper(
                storage=storage,
                dispatcher=dispatcher,
                limits=limits,
                metrics=metrics,
                timing=timing,
                queue=queue,
                clock=clock,
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
                    bulk=BulkRunner(
                        storage=storage,
                        queue=queue,
                        handlers=config.handlers,
                        poll_interval_s=timing.sweep_interval_s,
                        clock=clock,
                    ),
                    queue_name=queue_name,
                    queue=queue,
                    purger=Purger(
                        storage=storage, config=config.retention, metrics=metrics, clock=clock
                    ),
                    gauges=Gauges(storage=storage, queue=queue, metrics=metrics, clock=clock),
                )
            finally:
                await attempts.drain(timing.drain_s)
                await sweeper.settle()
                await dispatcher.close()
                await recorder.close()
    finally:
        await wakeups.close()
        await queue.close()


@asynccontextmanager
async def _storage(config: Config, shared: Storage | None) -> AsyncIterator[Storage]:
    if shared is not None:
        yield shared
        return
    async with open_storage(
        config.storage_url,
        config.security.secret_key,
        previous_secret_keys=config.security.previous_secret_keys,
        pool_size=STORAGE_POOL,
    ) as storage:
        yield storage
