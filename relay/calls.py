"""Calling an internal handler once: the handler counterpart of ``relay.http.Sender``.

A handler (``relay.handlers``) is called with the stored event within
``delivery.timeout_s``. Returning is success; raising, or running out of time, is a
failed attempt (``handler_exception`` or ``timeout``) retried like any other. Either
way the call answers an ``Outcome`` and never raises for what the handler did. The
recorded request headers name the handler and the attempt, as an HTTP attempt's
protocol headers would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from core.clock import Clock, now_us
from policy.matching import handler_name
from relay.handlers import Handler
from relay.metrics import RelayMetrics
from storage.records import Delivery, ErrorKind, Event, Outcome, error_detail


class Calls:
    """Calls the configured handlers and reports what happened."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        timeout_s: float,
        metrics: RelayMetrics,
        clock: Clock = now_us,
    ) -> None:
        self._handlers = handlers
        self._timeout_s = timeout_s
        self._metrics = metrics
        self._clock = clock

    async def call(self, delivery: Delivery, event: Event) -> Outcome:
        """Call ``delivery``'s handler with ``event`` once."""
        name = handler_name(delivery.target) or ""
        handler = self._handlers[name]
        headers = {"hookgate-handler": name, "hookgate-attempt": str(delivery.attempt_count + 1)}
        started_at, started = self._clock(), time.perf_counter()
        error: Exception | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                await handler(event)
        except Exception as e:  # the handler's failure is the attempt's outcome
            error = e
        duration_ms = (time.perf_counter() - started) * 1000
        self._metrics.attempt_seconds.labels("handler").observe(duration_ms / 1000)
        if error is None:
            return Outcome(started_at, duration_ms, headers)
        kind: ErrorKind = "timeout" if isinstance(error, TimeoutError) else "handler_exception"
        return Outcome(
            started_at, duration_ms, headers, error=kind, error_detail=error_detail(error)
        )
