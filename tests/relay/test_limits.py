"""Per-worker limits: token buckets, bounded waits that give up as ``Busy``, and permits."""

from __future__ import annotations

import asyncio

import pytest

from core.ratelimit import TokenBucket
from relay.limits import Busy, Limits, Permit


def test_token_bucket_holds_one_second_of_tokens() -> None:
    """5/s: five requests at once, the sixth waits 0.2 s, one too far is refused."""
    now = [0.0]
    bucket = TokenBucket(rate=5.0, burst=5.0, clock=lambda: now[0])

    waits = [bucket.reserve(max_wait_s=1.0) for _ in range(6)]

    assert pytest.approx([0, 0, 0, 0, 0, 0.2]) == waits
    assert bucket.reserve(max_wait_s=0.3) is None
    now[0] = 10.0
    assert pytest.approx(0.0) == bucket.reserve(max_wait_s=0.0)


async def test_admission_gives_up_after_the_wait() -> None:
    """With every per-subscription slot taken, another attempt is Busy, not queued; a
    released permit frees the slot; other subscriptions are not affected."""
    limits = Limits(total=10, max_wait_s=0.05, per_subscription=2)
    held = [await limits.admit("sub_a", None) for _ in range(2)]

    refused = await limits.admit("sub_a", None)
    other = await limits.admit("sub_b", None)
    assert isinstance(refused, Busy)
    assert isinstance(other, Permit)
    assert 7 == limits.free
    permit = held[0]
    assert isinstance(permit, Permit)
    permit.release()
    permit.release()  # idempotent
    assert isinstance(await limits.admit("sub_a", None), Permit)


async def test_cancelled_admission_returns_its_slots() -> None:
    """An attempt cancelled while waiting for a slot leaves no slot taken."""
    limits = Limits(total=1, max_wait_s=5.0)
    first = await limits.admit(None, None)
    waiting = asyncio.create_task(limits.admit(None, None))
    await asyncio.sleep(0.01)

    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert isinstance(first, Permit)
    first.release()

    assert 1 == limits.free
