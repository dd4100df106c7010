"""How many attempts run at once, in total and per subscription, and how fast.

Deliveries wait in storage, not in memory: an attempt waits at most
``max_wait_s`` for a free slot or a rate token; beyond that it is *postponed*
(its lease released, its ``next_attempt_at`` moved to when capacity should be
there), so a job never outlives its timeout queueing behind a slow endpoint.

Limits are per worker process: ``PER_SUBSCRIPTION`` concurrent attempts and the
subscription's ``rate_limit_per_s`` (a ``core.ratelimit`` token bucket holding one
second of tokens, at least one, and starting with one: a new worker does not burst).
With W workers an endpoint sees at most W times these figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.ratelimit import TokenBucket

PER_SUBSCRIPTION = 16
BUSY_RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class Busy:
    """No capacity within the wait: try again after ``retry_in_s``."""

    retry_in_s: float


class Permit:
    """The right to run one attempt; give it back with ``release`` (idempotent)."""

    def __init__(self, held: list[asyncio.Semaphore], on_release: Callable[[], None]) -> None:
        self._held = held
        self._on_release: Callable[[], None] | None = on_release

    def hold(self, semaphore: asyncio.Semaphore) -> None:
        """Add an acquired ``semaphore`` to what ``release`` gives back."""
        self._held.append(semaphore)

    def release(self) -> None:
        """Free the slots this permit holds."""
        while self._held:
            self._held.pop().release()
        if self._on_release is not None:
            self._on_release()
            self._on_release = None


class Limits:
    """Slots and rate tokens for every subscription of this worker."""

    def __init__(
        self,
        total: int,
        max_wait_s: float,
        per_subscription: int = PER_SUBSCRIPTION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._total = asyncio.Semaphore(total)
        self._capacity = total
        self._in_use = 0
        self._per_subscription = per_subscription
        self._max_wait_s = max_wait_s
        self._clock = clock
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def free(self) -> int:
        """How many more attempts could start now (the sweeper claims no more)."""
        return self._capacity - self._in_use

    async def admit(self, subscription_id: str | None, rate_per_s: float | None) -> Permit | Busy:
        """A permit within ``max_wait_s``, or ``Busy``. Handlers (no subscription) take
        a total slot only."""
        deadline = self._clock() + self._max_wait_s
        semaphores = [self._total]
        if subscription_id is not None:
            semaphores.append(self._slot(subscription_id))
        self._in_use += 1
        permit = Permit([], self._returned)
        try:
            for semaphore in semaphores:
                if not await _acquire(semaphore, deadline - self._clock()):
                    permit.release()
                    return Busy(BUSY_RETRY_S)
                permit.hold(semaphore)
            if subscription_id is not None and rate_per_s is not None:
                wait = self._bucket(subscription_id, rate_per_s).reserve(
                    max(0.0, deadline - self._clock())
                )
                if wait is None:
                    permit.release()
                    return Busy(max(BUSY_RETRY_S, 1 / rate_per_s))
                await asyncio.sleep(wait)
        except BaseException:
            permit.release()
            raise
        return permit

    def _returned(self) -> None:
        self._in_use -= 1

    def _slot(self, subscription_id: str) -> asyncio.Semaphore:
        slot = self._slots.get(subscription_id)
        if slot is None:
            slot = self._slots[subscription_id] = asyncio.Semaphore(self._per_subscription)
        return slot

    def _bucket(self, subscription_id: str, rate_per_s: float) -> TokenBucket:
        bucket = self._buckets.get(subscription_id)
        if bucket is None or bucket.rate != rate_per_s:
            bucket = TokenBucket(rate_per_s, max(1.0, rate_per_s), self._clock, tokens=1.0)
            self._buckets[subscription_id] = bucket
        return bucket


async def _acquire(semaphore: asyncio.Semaphore, timeout_s: float) -> bool:
    """Acquire within ``timeout_s``; whether it was acquired."""
    if not semaphore.locked():
        await semaphore.acquire()
        return True
    if timeout_s <= 0:
        return False
    try:
        async with asyncio.timeout(timeout_s):
            await semaphore.acquire()
    except TimeoutError:
        return False
    return True
