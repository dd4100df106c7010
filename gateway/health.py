"""Operations: ``/healthz`` (process up), ``/readyz`` (storage and Redis), ``/metrics``."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web
from redis.exceptions import RedisError

from gateway import state
from storage import StorageError

READY_TIMEOUT_S = 2.0


async def healthz(request: web.Request) -> web.Response:
    """200 while the process serves requests."""
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    """200 when storage and Redis both answer, else 503 naming what does not."""
    checks = {
        "storage": await _answers(request.app[state.STORAGE].ping()),
        "redis": await _answers(request.app[state.QUEUE].ping()),
    }
    ready = all(outcome == "ok" for outcome in checks.values())
    return web.Response(
        status=200 if ready else 503,
        body=orjson.dumps({"status": "ready" if ready else "not ready", "checks": checks}),
        content_type="application/json",
    )


async def _answers(check: object) -> str:
    try:
        await asyncio.wait_for(check, READY_TIMEOUT_S)  # type: ignore[arg-type]
    except (TimeoutError, StorageError, RedisError, OSError) as e:
        return f"failed: {type(e).__name__}"
    return "ok"


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    return web.Response(
        body=request.app[state.METRICS].render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
