"""Per-API-key rate limiting: a token bucket (``core.ratelimit``) per key.

Buckets are keyed by the key's hash (the key itself is not kept in memory) and only
authenticated keys get one; past ``max_keys`` the least recently used are forgotten,
so memory stays bounded whatever the callers do. Without a limit (``api.rate_limit_per_s:
0``) every request may go and no bucket is kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from core.ratelimit import RateLimit, TokenBucket

__all__ = ["KeyLimiter", "RateLimit"]


class KeyLimiter:
    """A token bucket per API key (none at all when ``limit`` is None)."""

    def __init__(
        self,
        limit: RateLimit | None,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[bytes, TokenBucket] = OrderedDict()

    def take(self, key: bytes) -> float:
        """0 if ``key`` may make a request now, else the seconds until it may."""
        if self._limit is None:
            return 0.0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self._limit.per_s, self._limit.burst, self._clock)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()
