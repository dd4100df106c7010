"""Ordered (fifo) subscriptions in storage, on both backends: only the head of a
subscription's line is ever leased, by every path that leases."""

from __future__ import annotations

import time
from dataclasses import replace

from storage import Storage
from storage.records import NewEvent, Ordering, Subscription, SubscriptionFields, Target
from tests.storage.test_deliveries import failure, recorded

SECOND = 1_000_000


async def fifo_subscription(storage: Storage, ordering: Ordering = "fifo") -> Subscription:
    """An enabled subscription with ``ordering``."""
    user, _ = await storage.users.create("Fifo", f"{ordering}@example.com", "member")
    sub, _ = await storage.subscriptions.create(
        user.id, SubscriptionFields(url="https://fifo.example/", ordering=ordering)
    )
    return sub


async def events(storage: Storage, count: int) -> list[str]:
    """``count`` events received one microsecond apart, in that order."""
    start = time.time_ns() // 1000
    ids = []
    for n in range(count):
        new = NewEvent("stripe", "invoice.paid", f"fifo-{n}", {}, b"{}", start + n)
        ids.append((await storage.events.store(new)).id)
    return ids


def line(sub: Subscription) -> list[Target]:
    """The target of ``sub``, as the dispatcher plans it."""
    return [Target(sub.id, sub.fields.url, ordered=sub.fields.ordering == "fifo")]


async def test_dispatch_leases_only_the_head_of_a_fifo_line(storage: Storage) -> None:
    """Three events dispatched at once to a fifo subscription: all three deliveries
    exist, only the first is leased (and answered) for the dispatcher to attempt."""
    sub = await fifo_subscription(storage)
    ids = await events(storage, 3)

    created = await storage.deliveries.create(
        [(event_id, line(sub)) for event_id in reversed(ids)], first_dispatch=True, lease_s=30
    )
    stored = (await storage.deliveries.page(subscription_id=sub.id)).items

    assert {ids[0]: 1, ids[1]: 0, ids[2]: 0} == {k: len(v) for k, v in created.items()}
    assert 3 == len(stored)
    assert [] == await storage.deliveries.claim_due(lease_s=30)


async def test_a_waiting_retry_holds_the_line_until_it_finishes(storage: Storage) -> None:
    """The head failing with a retry to come keeps the others unclaimable by
    ``claim_due``, ``claim`` and ``claim_heads``; once it succeeds the next is the head."""
    sub = await fifo_subscription(storage)
    ids = await events(storage, 3)
    await storage.deliveries.create([(e, line(sub)) for e in ids], first_dispatch=True)
    now = time.time_ns() // 1000
    [head] = await storage.deliveries.claim_due(lease_s=30, now=now)
    page = (await storage.deliveries.page(subscription_id=sub.id)).items
    others = [d.id for d in page if d.id != head.id]

    await recorded(storage, head.id, failure(now + 60 * SECOND))
    held = (
        await storage.deliveries.claim_due(lease_s=30, now=now),
        await storage.deliveries.claim(others, lease_s=30, now=now),
        await storage.deliveries.claim_heads([sub.id], lease_s=30, now=now),
    )
    await recorded(storage, head.id, replace(failure(None), status="succeeded", error=None))
    [following] = await storage.deliveries.claim_heads([sub.id], lease_s=30, now=now)

    assert ids[0] == head.event_id
    assert ([], [], []) == held
    assert ids[1] == following.event_id


async def test_a_failed_head_lets_the_next_go(storage: Storage) -> None:
    """A head that fails for good no longer holds the line."""
    sub = await fifo_subscription(storage)
    ids = await events(storage, 2)
    await storage.deliveries.create([(e, line(sub)) for e in ids], first_dispatch=True)
    [head] = await storage.deliveries.claim_due(lease_s=30)

    await recorded(storage, head.id, replace(failure(None), status="failed"))
    [following] = await storage.deliveries.claim_due(lease_s=30)

    assert ids[1] == following.event_id


async def test_an_earlier_undispatched_event_holds_the_line(storage: Storage) -> None:
    """An event received earlier but not yet dispatched (its job lost or still running)
    may yet go first: the later one waits for it."""
    sub = await fifo_subscription(storage)
    early, late = await events(storage, 2)

    created = await storage.deliveries.create([(late, line(sub))], first_dispatch=True, lease_s=30)
    while_undispatched = await storage.deliveries.claim_due(lease_s=30)
    await storage.deliveries.create([(early, line(sub))], first_dispatch=True)
    [head] = await storage.deliveries.claim_due(lease_s=30)

    assert ({late: []}, []) == (created, while_undispatched)
    assert early == head.event_id


async def test_an_operators_retry_puts_a_delivery_back_at_its_place(storage: Storage) -> None:
    """Retrying a failed delivery of the first event makes it the head again: the
    pending one behind it waits until it is done."""
    sub = await fifo_subscription(storage)
    ids = await events(storage, 2)
    await storage.deliveries.create([(e, line(sub)) for e in ids], first_dispatch=True)
    [first] = await storage.deliveries.claim_due(lease_s=30)
    await recorded(storage, first.id, replace(failure(None), status="failed"))

    await storage.deliveries.retry(first.id)
    [head] = await storage.deliveries.claim_due(lease_s=30)

    assert first.id == head.id


async def test_unordered_subscriptions_are_not_held(storage: Storage) -> None:
    """Without fifo every due delivery is claimed at once."""
    sub = await fifo_subscription(storage, "none")
    ids = await events(storage, 3)
    await storage.deliveries.create([(e, line(sub)) for e in ids], first_dispatch=True)

    assert 3 == len(await storage.deliveries.claim_due(lease_s=30))
