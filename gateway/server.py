"""Serving the app until SIGTERM/SIGINT, then shutting down gracefully.

On a signal the listener closes (no new connections), in-flight requests finish
(up to ``SHUTDOWN_TIMEOUT_S``), then every pool closes through cleanup_ctx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from aiohttp import web

from core.config import Config
from gateway.app import create_app
from storage import Storage

log = structlog.get_logger()
SHUTDOWN_TIMEOUT_S = 10.0


async def serve(
    config: Config,
    stop: asyncio.Event,
    *,
    extra_metrics: Callable[[], bytes] | None = None,
    storage: Storage | None = None,
) -> None:
    """Serve ``config``'s gateway until ``stop`` is set (see ``create_app`` for the options)."""
    app = create_app(config, extra_metrics=extra_metrics, storage=storage)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.server.host, config.server.port, backlog=1024)
        await site.start()
        log.info("gateway_listening", host=config.server.host, port=config.server.port)
        await stop.wait()
        log.info("gateway_stopping")
    finally:
        await runner.cleanup()
