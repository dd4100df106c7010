"""Storage's clock: unix microseconds, the unit of every ``*_at`` column."""

from __future__ import annotations

import time


def now_us() -> int:
    """The current time in unix microseconds."""
    return time.time_ns() // 1000
