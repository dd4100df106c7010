"""``hookgate worker``: the arq worker, the sweeper beside it, and a graceful stop.

arq settings, each chosen against how arq claims, retries and loses jobs
(ARQ-NOTES.md):

- **Jobs never raise and arq never retries** (``max_tries=1``, ``retry_jobs=False``).
  arq's retries are the wrong tool here: timeouts and exceptions are terminal anyway,
  crashes and cancellations use up tries (arq #267) and its in-progress lease is
  worker-wide and never renewed. Storage leases and the sweeper re-drive instead; a
  job interrupted by a crash reappears after arq's in-progress TTL and is dropped
  unrun, which is right since its work is leased in storage.
- ``job_timeout`` = ``Timing.job_timeout_s`` (admission wait + ``delivery.timeout_s``
  + slack, 20 s by default) is half the storage **lease** (40 s): arq cancels a job
  long before its leases could expire, so two live workers never attempt the same
  delivery. (arq's own in-progress TTL is ``job_timeout + 10`` s.)
- ``keep_result=0``: no result keys (they would block re-enqueueing an id for an
  hour and hold millions of keys at speed).
- ``poll_delay=0.005``: pickup latency ≈ U(0, 5 ms) + a few round trips; an idle
  worker costs ~200 ``ZRANGEBYSCORE``/s, which Redis does not notice.
- ``max_jobs=32``: jobs per worker. Each job attempts its whole batch concurrently,
  bounded by ``Limits`` (``CONNECTIONS`` attempts per worker), so this bounds claims,
  not deliveries.
- ``queue_read_limit=1000``: well above workers * ``max_jobs``, so jobs in flight
  sitting at the head of the queue never hide new ones (arq #171).
- ``job_completion_wait`` is not used because arq's signal handling is replaced (one
  handler per signal and loop leaves no room for two): on SIGTERM or SIGINT the worker
  stops picking jobs *and* stops the sweeper, lets attempts on the wire finish within
  ``Timing.drain_s``, releases the leases of the rest (another worker takes them at
  once), then closes. arq's own handler would cancel jobs mid-attempt and leave their
  leases to run out.
- Health key per process (``<queue>:health-check:<host>:<pid>``, every 15 s), so
  several workers do not overwrite one key (arq #276).
- orjson (de)serializer from ``core.queue``; jobs carry ids only.

Beside arq each worker runs the sweeper, the retention purge (``relay.retention``: one
worker at a time) and the backlog gauges, and serves ``/healthz``, ``/readyz`` and
``/metrics`` on ``worker.port`` (``relay.observe``; not in ``hookgate dev``, whose
gateway shows the relay's metrics).

Redis failures kill arq's poll loop (arq #435). ``run_worker`` then closes that arq
worker, waits (1 s, doubling to 30 s) and starts a fresh one, while the sweeper keeps
delivering from storage, dispatching in-process when Redis will not take jobs.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from arq.connections import ArqRedis
from arq.worker import Worker, func

from core.config import Config, WorkerConfig
from core.queue import (
    DELIVER,
    DISPATCH_EVENTS,
    QUEUE_NAME,
    REDIS_TROUBLE,
    RUN_JOBS,
    close_queue,
    connect_queue,
    deserialize,
    serialize,
)
from core.signals import sleep_unless_stopped, stop_on_signals
from core.tasks import finish_or_cancel
from relay.jobs import RELAY, deliver, dispatch_events, run_jobs
from relay.metrics import RelayMetrics
from relay.observe import create_observer, observing
from relay.runtime import Relay, open_relay
from storage import Storage

log = structlog.get_logger()
MAX_JOBS = 32
POLL_DELAY_S = 0.005
QUEUE_READ_LIMIT = 1000
HEALTH_CHECK_INTERVAL_S = 15
RESTART_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
JOBS_SETTLE_S = 5.0


def create_worker(relay: Relay, redis: ArqRedis, *, burst: bool = False) -> Worker:
    """An arq worker for ``relay``'s jobs over ``redis`` (closed with the worker)."""
    return Worker(
        functions=[
            func(dispatch_events, name=DISPATCH_EVENTS),
            func(deliver, name=DELIVER),
            func(run_jobs, name=RUN_JOBS),
        ],
        queue_name=relay.queue_name,
        redis_pool=redis,
        burst=burst,
        handle_signals=False,
        max_jobs=MAX_JOBS,
        job_timeout=relay.timing.job_timeout_s,
        keep_result=0,
        poll_delay=POLL_DELAY_S,
        queue_read_limit=QUEUE_READ_LIMIT,
        max_tries=1,
        retry_jobs=False,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        health_check_key=f"{relay.queue_name}:health-check:{socket.gethostname()}:{os.getpid()}",
        ctx={RELAY: relay},
        job_serializer=serialize,
        job_deserializer=deserialize,
        log_results=False,
    )


async def run_worker(
    config: Config,
    stop: asyncio.Event | None = None,
    *,
    metrics: RelayMetrics | None = None,
    queue_name: str = QUEUE_NAME,
    storage: Storage | None = None,
    observe: bool = True,
) -> None:
    """Run a worker until ``stop`` is set (by default: until SIGTERM or SIGINT), with
    the sweeper, the retention purge and the backlog gauges beside it and, if
    ``observe``, its ``/healthz``, ``/readyz`` and ``/metrics`` on ``worker.port``
    (``OSError`` if that port is taken).

    In one process with the gateway, pass the ``stop`` event they share, the
    ``metrics`` to serve, the gateway's ``storage`` (see ``open_relay``) and
    ``observe=False``: the gateway's ``/metrics`` shows the relay's.
    """
    stop = stop if stop is not None else stop_on_signals()
    async with (
        open_relay(config, metrics=metrics, queue_name=queue_name, shared_storage=storage) as relay,
        _observed(relay, config.worker if observe else None),
    ):
        log.info("worker_started", queue=queue_name)
        sweeper = asyncio.create_task(relay.sweeper.run(stop))
        purger = asyncio.create_task(relay.purger.run(stop))
        gauges = asyncio.create_task(relay.gauges.run(stop))
        bulk = asyncio.create_task(relay.bulk.run(stop))
        try:
            await _work_until(relay, stop)
        finally:
            stop.set()
            await sweeper
            await purger
            await gauges
            await bulk
        log.info("worker_stopped")


@asynccontextmanager
async def _observed(relay: Relay, worker: WorkerConfig | None) -> AsyncIterator[None]:
    """The worker's operations listener for the block (none without a port)."""
    if worker is None or not worker.port:
        yield
        return
    app = create_observer(relay.storage, relay.queue, relay.metrics)
    async with observing(app, worker.host, worker.port):
        log.info("worker_listening", host=worker.host, port=worker.port)
        yield


async def _work_until(relay: Relay, stop: asyncio.Event) -> None:
    """Run arq workers, restarting after Redis failures, until ``stop``; then drain."""
    failures = 0
    while not stop.is_set():
        redis = connect_queue(relay.config.redis_url, max_connections=MAX_JOBS + 8)
        worker = create_worker(relay, redis)
        main = asyncio.create_task(worker.main())
        worker.main_task = main
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
        worker.allow_pick_jobs = False
        stopping.cancel()
        failure = main.exception() if main.done() and not main.cancelled() else None
        if stop.is_set():
            await relay.attempts.drain(relay.timing.drain_s)
        await close_worker(worker, redis)
        if failure is not None:
            delay = RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)]
            failures += 1
            log.error("arq_worker_failed", error=repr(failure), restart_in_s=delay)
            await sleep_unless_stopped(stop, delay)
        else:
            failures = 0


async def close_worker(worker: Worker, redis: ArqRedis) -> None:
    """Stop an arq worker — its poll loop, its jobs, the records of the attempts they
    sent — and close its Redis client, even when Redis is gone.

    The poll loop is stopped by turning the worker into a finished burst (its loop then
    returns after its running jobs), not by cancelling it: on Python 3.11 redis-py's
    socket timeouts (``asyncio.wait_for``) can swallow a cancellation, leaving the loop
    running forever (CPython gh-86296). ``Worker.close`` is not used either: it calls
    redis-py's deprecated ``close()`` and stops half-way when Redis is unreachable.
    """
    worker.allow_pick_jobs = False
    worker.burst, worker.max_burst_jobs = True, 0
    main = worker.main_task
    if main is not None:
        await finish_or_cancel({main}, JOBS_SETTLE_S)
        if not main.cancelled() and main.exception() is not None:
            log.warning("arq_worker_stopped_with_error", error=repr(main.exception()))
    await finish_or_cancel(set(worker.tasks.values()), JOBS_SETTLE_S)
    relay: Relay | None = worker.ctx.get(RELAY)
    if relay is not None:
        # Jobs return once their attempts are sent; let the records land too.
        await relay.attempts.settle(JOBS_SETTLE_S)
    try:
        await redis.delete(worker.health_check_key)
    except REDIS_TROUBLE as e:
        log.warning("arq_close_failed", error=type(e).__name__)
    await close_queue(redis)
