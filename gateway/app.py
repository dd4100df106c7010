"""The aiohttp application: what it serves and what it holds, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from core.config import Config
from core.queue import Queue
from gateway import state
from gateway.api import create_api, stream
from gateway.console import create_console
from gateway.dispatch import DispatchQueue
from gateway.fetch import Fetcher
from gateway.health import healthz, metrics, readyz
from gateway.ingest import ingest
from gateway.metrics import GatewayMetrics
from gateway.problems import problem_middleware
from gateway.requestlog import request_log_middleware
from gateway.sources import build_sources
from storage import Storage, open_storage


def create_app(
    config: Config,
    *,
    extra_metrics: Callable[[], bytes] | None = None,
    storage: Storage | None = None,
) -> web.Application:
    """The gateway app for ``config``; no I/O until it starts (pools open in cleanup_ctx).

    In ``dev`` the relay runs beside it: ``extra_metrics`` adds its exposition to
    ``/metrics`` and ``storage`` is shared (one SQLite writer, not two contending).
    """
    app = web.Application(
        client_max_size=config.server.max_body_bytes,
        middlewares=[request_log_middleware, problem_middleware],
    )
    app[state.CONFIG] = config
    app[state.METRICS] = GatewayMetrics(extra_metrics)
    app[state.SOURCES] = build_sources(config.sources)
    if storage is None:
        app.cleanup_ctx.append(storage_ctx)
    else:
        app[state.STORAGE] = storage
    app.cleanup_ctx.extend([queue_ctx, fetcher_ctx, stream.feed_ctx])
    app.on_shutdown.append(stream.end_streams)
    app.router.add_post("/ingest/{source}", ingest)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.add_subapp("/api/v1", create_api(config))
    app.add_subapp("/console", create_console())
    return app


async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
    """Storage for the app's lifetime; the schema must be current."""
    config = app[state.CONFIG]
    async with open_storage(
        config.storage_url,
        config.security.secret_key,
        previous_secret_keys=config.security.previous_secret_keys,
    ) as storage:
        await storage.check_schema()
        app[state.STORAGE] = storage
        yield


async def queue_ctx(app: web.Application) -> AsyncIterator[None]:
    """The queue client (its failures counted) and the batched dispatch fast path
    (flushed on shutdown)."""
    queue = Queue.connect(
        app[state.CONFIG].redis_url, on_failure=app[state.METRICS].enqueue_failures.inc
    )
    dispatch = DispatchQueue(queue)
    app[state.QUEUE] = queue
    app[state.DISPATCH] = dispatch
    yield
    await dispatch.close()
    await queue.close()


async def fetcher_ctx(app: web.Application) -> AsyncIterator[None]:
    """An HTTP client for provider documents (SNS certificates)."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[state.FETCHER] = Fetcher(session)
        yield
