"""One structured log line per request, with a request id bound for everything it logs."""

from __future__ import annotations

import secrets
import time

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

log = structlog.get_logger()


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind ``request_id`` (the caller's ``X-Request-Id`` or a new one) and log the outcome."""
    structlog.contextvars.clear_contextvars()
    request_id = request.headers.get("X-Request-Id", "")[:64] or secrets.token_hex(8)
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        log.info(
            "request",
            method=request.method,
            path=request.path,
            status=status,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        )
