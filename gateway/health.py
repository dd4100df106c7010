"""Operations: ``/healthz`` (process up), ``/readyz`` (storage and Redis), ``/metrics``.

What they answer is shared with the worker's own listener (``core.readiness``).
"""

from __future__ import annotations

from aiohttp import web

from core.readiness import HEALTHY, METRICS_CONTENT_TYPE, readiness
from gateway import state


async def healthz(request: web.Request) -> web.Response:
    """200 while the process serves requests."""
    return web.Response(body=HEALTHY, content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    """200 when storage and Redis both answer, else 503 naming what does not."""
    status, body = await readiness(
        {
            "storage": request.app[state.STORAGE].ping(),
            "redis": request.app[state.QUEUE].ping(),
        }
    )
    return web.Response(status=status, body=body, content_type="application/json")


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    return web.Response(
        body=request.app[state.METRICS].render(),
        headers={"Content-Type": METRICS_CONTENT_TYPE},
    )
