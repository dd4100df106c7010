"""The container healthchecks (``python -m hookgate.health``) against real servers."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import pytest
from aiohttp import web

from core.config import Config, SecurityConfig, ServerConfig
from core.queue import QUEUE_NAME, close_queue, connect_queue
from hookgate.health import gateway_is_healthy, worker_is_healthy
from tests.conftest import SECRET_KEY
from tests.gateway.test_crash import free_port

REDIS_URL = "redis://127.0.0.1:6379/12"
CONFIG = Config(security=SecurityConfig(secret_key=SECRET_KEY), redis_url=REDIS_URL)


async def test_gateway_check_follows_healthz() -> None:
    """Healthy while something answers 200 on /healthz at the configured port (the
    wildcard host is checked on 127.0.0.1); unhealthy once nothing listens."""

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    config = replace(CONFIG, server=ServerConfig(host="0.0.0.0", port=port))  # noqa: S104
    try:
        up = await asyncio.to_thread(gateway_is_healthy, config)
    finally:
        await runner.cleanup()
    down = await asyncio.to_thread(gateway_is_healthy, config)

    assert (True, False) == (up, down)


@pytest.mark.redis
async def test_worker_check_follows_this_hosts_health_key() -> None:
    """Healthy while a worker on this host keeps its arq health-check key; a key of
    another host does not count."""
    redis = connect_queue(REDIS_URL)
    await redis.flushdb()
    try:
        before = await asyncio.to_thread(worker_is_healthy, CONFIG)
        await redis.set(f"{QUEUE_NAME}:health-check:elsewhere:1", b"x", px=10_000)
        other_host = await asyncio.to_thread(worker_is_healthy, CONFIG)
        await redis.set(f"{QUEUE_NAME}:health-check:{socket.gethostname()}:7", b"x", px=10_000)
        this_host = await asyncio.to_thread(worker_is_healthy, CONFIG)
    finally:
        await redis.flushdb()
        await close_queue(redis)

    assert (False, False, True) == (before, other_host, this_host)
