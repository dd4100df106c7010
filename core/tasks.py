"""Stopping tasks that must stop: wait a while, then cancel until they are done.

Used by the relay (attempts, arq) and the gateway (the stream's Redis listener).

Cancelling more than once is not paranoia: on Python 3.11 a cancellation that lands
while ``asyncio.wait_for`` completes is lost (CPython gh-86296, fixed in 3.12), and
redis-py wraps every socket call of a client with ``socket_timeout`` in one. A task
cancelled once at the wrong moment carries on as if nothing happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

import structlog

log = structlog.get_logger()
CANCEL_ROUNDS = 50
CANCEL_ROUND_S = 0.1


async def finish_or_cancel(tasks: Collection[asyncio.Task[Any]], grace_s: float) -> None:
    """Give ``tasks`` ``grace_s`` to finish, then cancel them until they are done."""
    pending = {task for task in tasks if not task.done()}
    if pending and grace_s > 0:
        _, pending = await asyncio.wait(pending, timeout=grace_s)
    for _ in range(CANCEL_ROUNDS):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_ROUND_S)
    log.error("tasks_would_not_stop", tasks=len(pending))
