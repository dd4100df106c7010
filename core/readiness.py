"""What the operations endpoints answer, for the gateway's HTTP server and the worker's.

``/healthz`` answers ``HEALTHY`` while the process serves; ``/readyz`` answers
``readiness(...)``: 200 when every dependency (storage, Redis) answers within
``READY_TIMEOUT_S``, else 503 naming each that does not; ``/metrics`` is Prometheus
text as ``METRICS_CONTENT_TYPE``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping

import orjson

READY_TIMEOUT_S = 2.0
HEALTHY = b'{"status":"ok"}'
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def readiness(
    checks: Mapping[str, Awaitable[object]], timeout_s: float = READY_TIMEOUT_S
) -> tuple[int, bytes]:
    """The status and JSON body of ``/readyz`` after awaiting each of ``checks``."""
    outcomes = {name: await _answers(check, timeout_s) for name, check in checks.items()}
    ready = all(outcome == "ok" for outcome in outcomes.values())
    body = {"status": "ready" if ready else "not ready", "checks": outcomes}
    return (200 if ready else 503), orjson.dumps(body)


async def _answers(check: Awaitable[object], timeout_s: float) -> str:
    try:
        await asyncio.wait_for(check, timeout_s)
    except Exception as e:  # whatever a dependency fails with, the process is not ready
        return f"failed: {type(e).__name__}"
    return "ok"
