"""Serving the app until SIGTERM/SIGINT, then shutting down gracefully.

On a signal the listener closes (no new connections), in-flight requests finish
(up to ``SHUTDOWN_TIMEOUT_S``), then every pool closes through cleanup_ctx. Every
connection is a ``gateway.protocol.GatewayConnection``: bounded reads, and problem+json
even for what aiohttp answers itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog
from aiohttp import web

from core.config import Config
from gateway.app import create_app
from gateway.protocol import GatewayRunner, ReadBounds
from storage import Storage

log = structlog.get_logger()
SHUTDOWN_TIMEOUT_S = 10.0
READ_BOUNDS = ReadBounds()


async def serve(
    config: Config,
    stop: asyncio.Event,
    *,
    extra_metrics: Callable[[], bytes] | None = None,
    storage: Storage | None = None,
    bounds: ReadBounds = READ_BOUNDS,
) -> None:
    """Serve ``config``'s gateway until ``stop`` is set (see ``create_app`` for the options).

    ``bounds`` limits how long a client may take to send headers and body.
    """
    app = create_app(config, extra_metrics=extra_metrics, storage=storage)
    async with listening(app, config.server.host, config.server.port, bounds=bounds):
        log.info("gateway_listening", host=config.server.host, port=config.server.port)
        await stop.wait()
        log.info("gateway_stopping")


@asynccontextmanager
async def listening(
    app: web.Application, host: str, port: int, *, bounds: ReadBounds = READ_BOUNDS
) -> AsyncIterator[GatewayRunner]:
    """``app`` served on ``host:port`` for the block (port 0: see ``runner.addresses``)."""
    runner = GatewayRunner(app, bounds=bounds, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        yield runner
    finally:
        await runner.cleanup()
