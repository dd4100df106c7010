"""hookgate's one clock: unix microseconds, the unit of every stored ``*_at`` time.

Whatever needs the time takes a ``Clock`` (defaulting to ``now_us``), so tests can
freeze or move it. Durations (timeouts, backoff waits) use ``time.monotonic`` or
``time.perf_counter`` instead: they measure intervals, not moments.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]
SECOND_US = 1_000_000


def now_us() -> int:
    """The current time in unix microseconds."""
    return time.time_ns() // 1000
