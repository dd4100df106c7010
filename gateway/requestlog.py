"""One structured log line per request, with a request id bound for everything it logs.

The caller's ``X-Request-Id`` is kept only if it is a plain token (``REQUEST_ID``): any
other value (a byte that is not UTF-8, a newline, a 200-character essay) is replaced by
a fresh id rather than logged. A client that hung up is logged with status 499
(``gateway.problems.CLIENT_CLOSED_REQUEST``).
"""

from __future__ import annotations

import re
import secrets
import time

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

log = structlog.get_logger()
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_of(request: web.Request) -> str:
    """The caller's ``X-Request-Id`` if it is a safe token, else a new random one."""
    given = request.headers.get("X-Request-Id", "")
    if REQUEST_ID.fullmatch(given):
        return given
    return secrets.token_hex(8)


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind ``request_id`` (see ``request_id_of``) and log the outcome."""
    structlog.contextvars.clear_contextvars()
    request_id = request_id_of(request)
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
