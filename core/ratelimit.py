"""hookgate's one token bucket: ``rate`` tokens a second, up to ``burst`` saved.

Two callers, two ways to take a token:

- the gateway (a source's limit, an API key's) answers at once: ``take`` a token or
  learn how long until one comes, which becomes ``Retry-After`` (``retry_after_header``);
- the relay (a subscription's limit) may wait a little: ``reserve`` a token due
  within ``max_wait_s`` and sleep until it is, or take nothing and postpone.

Time comes from an injectable monotonic clock (seconds), so tests can move it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

MonotonicClock = Callable[[], float]


@dataclass(frozen=True)
class RateLimit:
    """``per_s`` requests a second on average, in bursts of up to ``burst`` (a config
    value: ``api.rate_limit_per_s``/``api.rate_limit_burst`` per API key)."""

    per_s: float = 50.0
    burst: int = 100


class TokenBucket:
    """Allows ``rate`` events a second on average, in bursts of up to ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float,
        clock: MonotonicClock = time.monotonic,
        *,
        tokens: float | None = None,
    ) -> None:
        """A bucket holding ``tokens`` to begin with (by default it starts full)."""
        self._rate = rate
        self._burst = float(burst)
        self._tokens = self._burst if tokens is None else tokens
        self._clock = clock
        self._updated = clock()

    @property
    def rate(self) -> float:
        """Tokens added a second."""
        return self._rate

    def take(self) -> float:
        """0 if a token was taken, else the seconds until one will be (nothing taken)."""
        wait = self._wait()
        if wait == 0:
            self._tokens -= 1
        return wait

    def reserve(self, max_wait_s: float) -> float | None:
        """Take a token due within ``max_wait_s``: the seconds until it is due, or None
        (nothing taken) if it is due later."""
        wait = self._wait()
        if wait > max_wait_s:
            return None
        self._tokens -= 1
        return wait

    def _wait(self) -> float:
        """Refill for the time passed; seconds until a whole token is saved."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` in whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
