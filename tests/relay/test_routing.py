"""Routing in the relay, on both storage backends: payload filters decide which
subscriptions an event reaches, and a subscription's own retry policy overrides
``delivery.*`` for its deliveries."""

from __future__ import annotations

import secrets
import time

from storage.records import NewEvent, RetryPolicy
from tests.relay.conftest import Harness, Receiver, Reply


async def charge(harness: Harness, amount: int, shop: str) -> str:
    """A stored Stripe charge of ``amount`` from ``shop``; its id."""
    stored = await harness.storage.events.store(
        NewEvent(
            source="stripe",
            type="charge.succeeded",
            provider_event_id=secrets.token_hex(8),
            headers={"content-type": "application/json", "x-shop": shop},
            body=b'{"data": {"object": {"amount": %d}}}' % amount,
            received_at=time.time_ns() // 1000,
        )
    )
    return stored.id


async def test_filters_choose_the_subscriptions_an_event_reaches(
    harness: Harness, receiver: Receiver
) -> None:
    """Large EU charges reach the filtered endpoint; every charge reaches the other."""
    big_eu = receiver.script("big-eu", Reply())
    everything = receiver.script("all", Reply())
    await harness.subscribe(
        big_eu,
        filter={
            "body": {"data.object.amount": {"$gte": 1000}},
            "headers": {"X-Shop": {"$startsWith": "eu-"}},
        },
    )
    await harness.subscribe(everything)
    ids = [
        await charge(harness, 5000, "eu-1"),
        await charge(harness, 50, "eu-1"),
        await charge(harness, 5000, "us-1"),
    ]

    await harness.enqueue(ids)
    await harness.drive(lambda: _count(receiver, 4))

    assert [ids[0]] == [hit.headers["webhook-id"] for hit in receiver.of("big-eu")]
    assert set(ids) == {hit.headers["webhook-id"] for hit in receiver.of("all")}


async def test_a_subscriptions_retry_policy_overrides_the_config(
    harness: Harness, receiver: Receiver
) -> None:
    """``retry.max_attempts = 1`` against an endpoint that always fails: two attempts
    and the delivery fails, where the configured 3 retries would make four."""
    own = receiver.script("own", Reply(500))
    configured = receiver.script("configured", Reply(500))
    await harness.subscribe(own, retry=RetryPolicy(max_attempts=1, initial_s=0.01))
    await harness.subscribe(configured)

    await harness.enqueue([await harness.event()])
    await harness.drive(harness.finished)

    statuses = sorted(
        (d.target.rsplit("/", 1)[1], d.status, d.attempt_count)
        for d in await harness.deliveries()
        if d.subscription_id is not None
    )
    assert [("configured", "failed", 4), ("own", "failed", 2)] == statuses


async def _count(receiver: Receiver, hits: int) -> bool:
    return len(receiver.hits) >= hits
