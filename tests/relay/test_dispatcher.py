"""The dispatcher's view of the subscriptions: cached, yet never behind a change that
was committed before an event arrived — on both storage backends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.relay.conftest import Harness, Receiver


async def test_subscription_created_after_caching_gets_the_next_event(
    harness: Harness, receiver: Receiver
) -> None:
    """Once the dispatcher has cached the list, a new subscription still gets the next
    event, and one disabled meanwhile does not."""
    early, _ = await harness.subscribe(receiver.url("early"))
    first = await harness.event()
    await harness.enqueue([first])
    await harness.drive(harness.finished)

    await harness.subscribe(receiver.url("late"))
    await harness.storage.subscriptions.disable(early.id, "gone")
    second = await harness.event()
    await harness.enqueue([second])
    await harness.drive(harness.finished)

    assert [first] == [hit.headers["webhook-id"] for hit in receiver.of("early")]
    assert [second] == [hit.headers["webhook-id"] for hit in receiver.of("late")]


async def test_unchanged_subscriptions_are_read_once(
    harness: Harness, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three dispatch jobs with no subscription change between them read the list once."""
    await harness.subscribe(receiver.url("steady"))
    subscriptions = harness.relay.storage.subscriptions
    reads: list[None] = []
    enabled = subscriptions.enabled

    async def counted() -> Any:
        reads.append(None)
        return await enabled()

    monkeypatch.setattr(subscriptions, "enabled", counted)
    events = []
    for _ in range(3):
        events.append(await harness.event())
        await harness.enqueue([events[-1]])
        await harness.drive(harness.finished)

    assert events == [hit.headers["webhook-id"] for hit in receiver.of("steady")]
    assert 1 == len(reads)
