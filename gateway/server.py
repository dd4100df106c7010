"""Serving the app until SIGTERM/SIGINT, then shutting down gracefully.

On a signal the listener closes (no new connections), in-flight requests finish
(up to ``SHUTDOWN_TIMEOUT_S``), then every pool closes through cleanup_ctx.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import structlog
from aiohttp import web

from core.config import Config
from gateway.app import create_app

log = structlog.get_logger()
SHUTDOWN_TIMEOUT_S = 10.0


async def serve(
    config: Config, stop: asyncio.Event, *, extra_metrics: Callable[[], bytes] | None = None
) -> None:
    """Serve ``config``'s gateway until ``stop`` is set."""
    app = create_app(config, extra_metrics=extra_metrics)
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


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (call inside the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
