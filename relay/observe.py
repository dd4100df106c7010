"""The worker, observable: ``GET /healthz``, ``/readyz`` and ``/metrics`` on
``worker.host``:``worker.port`` (``worker.port: 0`` turns the listener off).

The listener is an aiohttp app of its own, with its own runner: it ingests nothing and
shares no code with the gateway but what lies below both (``core.readiness``).

``/metrics`` renders ``RelayMetrics`` and costs no query: the backlog gauges (queue
depth, pending deliveries, the oldest one's age, open breakers) are refreshed every
``GAUGES_EVERY_S`` by ``Gauges.run``, beside the sweeper, in every worker (so that in
``hookgate dev`` the gateway's ``/metrics`` shows them too). A refresh is three
bounded reads: ``ZCARD``, the pending rows of one index (``storage.stats.backlog``)
and the subscriptions with an open breaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from aiohttp import web

from core.clock import SECOND_US, Clock, now_us
from core.queue import Queue
from core.readiness import HEALTHY, METRICS_CONTENT_TYPE, readiness
from core.signals import sleep_unless_stopped
from relay.metrics import RelayMetrics
from storage import Storage

log = structlog.get_logger()
GAUGES_EVERY_S = 5.0
SHUTDOWN_TIMEOUT_S = 2.0
STORAGE = web.AppKey("storage", Storage)
QUEUE = web.AppKey("queue", Queue)
METRICS = web.AppKey("metrics", RelayMetrics)


class Gauges:
    """Keeps the backlog gauges of ``metrics`` current."""

    def __init__(
        self, *, storage: Storage, queue: Queue, metrics: RelayMetrics, clock: Clock = now_us
    ) -> None:
        self._storage = storage
        self._queue = queue
        self._metrics = metrics
        self._clock = clock

    async def refresh(self) -> None:
        """Read the backlog now (a queue depth Redis cannot give is left as it was)."""
        now = self._clock()
        depth = await self._queue.depth()
        if depth is not None:
            self._metrics.queue_depth.set(depth)
        pending, oldest_at = await self._storage.stats.backlog()
        self._metrics.pending.set(pending)
        age_s = 0.0 if oldest_at is None else max(0.0, (now - oldest_at) / SECOND_US)
        self._metrics.oldest_pending_age.set(age_s)
        self._metrics.breakers_open.set(await self._storage.subscriptions.open_breakers(now))

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every ``GAUGES_EVERY_S`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception:  # storage down: the gauges keep their last values
                log.exception("gauges_refresh_failed")
            await sleep_unless_stopped(stop, GAUGES_EVERY_S)


def create_observer(storage: Storage, queue: Queue, metrics: RelayMetrics) -> web.Application:
    """The worker's operations app."""
    app = web.Application()
    app[STORAGE], app[QUEUE], app[METRICS] = storage, queue, metrics
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", render_metrics)
    return app


async def healthz(request: web.Request) -> web.Response:
    """200 while the worker runs."""
    return web.Response(body=HEALTHY, content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    """200 when storage and Redis both answer, else 503 naming what does not."""
    status, body = await readiness(
        {"storage": request.app[STORAGE].ping(), "redis": request.app[QUEUE].ping()}
    )
    return web.Response(status=status, body=body, content_type="application/json")


async def render_metrics(request: web.Request) -> web.Response:
    """The relay's Prometheus text exposition."""
    return web.Response(
        body=request.app[METRICS].render(), headers={"Content-Type": METRICS_CONTENT_TYPE}
    )


@asynccontextmanager
async def observing(app: web.Application, host: str, port: int) -> AsyncIterator[web.AppRunner]:
    """``app`` served on ``host:port`` for the block (``OSError`` if it cannot bind)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield runner
    finally:
        await runner.cleanup()
