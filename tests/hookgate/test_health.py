"""The container healthchecks (``python -m hookgate.health``) against real servers."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import pytest
from aiohttp import web

from core.config import Config, SecurityConfig, ServerConfig, WorkerConfig
from core.queue import QUEUE_NAME, close_queue, connect_queue
from hookgate.health import gateway_is_healthy, worker_is_healthy
from tests.conftest import SECRET_KEY
from tests.gateway.test_crash import free_port

REDIS_URL = "redis://127.0.0.1:6379/12"
CONFIG = Config(security=SecurityConfig(secret_key=SECRET_KEY), redis_url=REDIS_URL)


@pytest.mark.parametrize("role", ["gateway", "worker"])
async def test_check_follows_healthz(role: str) -> None:
    """Healthy while something answers 200 on /healthz at the role's configured port
    (``server.port``, ``worker.port``; the wildcard host is checked on 127.0.0.1);
    unhealthy once nothing listens."""

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    wildcard = "0.0.0.0"  # noqa: S104
    if role == "gateway":
        config, check = (
            replace(CONFIG, server=ServerConfig(host=wildcard, port=port)),
            gateway_is_healthy,
        )
    else:
        config, check = (
            replace(CONFIG, worker=WorkerConfig(host=wildcard, port=port)),
            worker_is_healthy,
        )
    try:
        up = await asyncio.to_thread(check, config)
    finally:
        await runner.cleanup()
    down = await asyncio.to_thread(check, config)

    assert (True, False) == (up, down)


@pytest.mark.redis
async def test_worker_without_a_listener_is_checked_by_this_hosts_health_key() -> None:
    """``worker.port: 0``: healthy while a worker on this host keeps its arq
    health-check key; a key of another host does not count."""
    config = replace(CONFIG, worker=WorkerConfig(port=0))
    redis = connect_queue(REDIS_URL)
    await redis.flushdb()
    try:
        before = await asyncio.to_thread(worker_is_healthy, config)
        await redis.set(f"{QUEUE_NAME}:health-check:elsewhere:1", b"x", px=10_000)
        other_host = await asyncio.to_thread(worker_is_healthy, config)
        await redis.set(f"{QUEUE_NAME}:health-check:{socket.gethostname()}:7", b"x", px=10_000)
        this_host = await asyncio.to_thread(worker_is_healthy, config)
    finally:
        await redis.flushdb()
        await close_queue(redis)

    assert (False, False, True) == (before, other_host, this_host)
