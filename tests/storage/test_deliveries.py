"""Deliveries contract: create once, exclusive claims, leases, attempts — on both backends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest

from storage import NotFoundError, Storage, open_storage
from storage.records import Delivery, NewEvent, Outcome, SubscriptionFields, Target
from tests.conftest import SECRET_KEY


async def stored_event(storage: Storage, provider_id: str = "e1") -> str:
    """The id of a freshly stored event."""
    new = NewEvent("stripe", "invoice.paid", provider_id, {}, b"{}", time.time_ns() // 1000)
    return (await storage.events.store(new)).id


async def dispatched(
    storage: Storage, event_id: str, targets: Sequence[Target], lease_s: float | None = None
) -> list[Delivery]:
    """The deliveries the relay creates when it first dispatches ``event_id``."""
    created = await storage.deliveries.create(
        [(event_id, targets)], first_dispatch=True, lease_s=lease_s
    )
    return created[event_id]


async def recorded(storage: Storage, delivery_id: str, outcome: Outcome) -> Delivery:
    """The delivery after the relay records ``outcome`` as its next attempt."""
    [delivery] = await storage.attempts.record([(delivery_id, outcome)])
    assert delivery is not None
    return delivery


def failure(next_at: int | None) -> Outcome:
    """A 500 answer that leaves the delivery pending until ``next_at``."""
    return Outcome(
        started_at=time.time_ns() // 1000,
        duration_ms=12.5,
        request_headers={"webhook-id": "evt_x"},
        response_status=500,
        response_headers={"content-type": "text/plain"},
        response_body=b"x" * 5000,
        error="http_status",
        error_detail="500 Internal Server Error",
        status="pending",
        next_attempt_at=next_at,
    )


async def test_first_dispatch_creates_deliveries_only_once(storage: Storage) -> None:
    """Dispatching twice (a re-driven job) creates the deliveries once."""
    event_id = await stored_event(storage)
    targets = [Target(None, "handler:billing"), Target(None, "handler:audit")]
    plan = [(event_id, targets)]

    first = await storage.deliveries.create(plan, first_dispatch=True)
    second = await storage.deliveries.create(plan, first_dispatch=True)

    assert ["handler:billing", "handler:audit"] == [d.target for d in first[event_id]]
    assert {} == second
    assert 2 == len((await storage.deliveries.page(event_id=event_id)).items)


async def test_replay_creates_deliveries_every_time(storage: Storage) -> None:
    """A replay (not a first dispatch) adds fresh deliveries to a dispatched event and
    marks an undispatched one dispatched, so the sweeper leaves it alone."""
    event_id = await stored_event(storage)
    later = time.time_ns() // 1000 + 1_000_000
    plan = [(event_id, [Target(None, "handler:h")])]

    first = await storage.deliveries.create(plan, first_dispatch=False)
    undispatched = await storage.events.undispatched(later)
    second = await storage.deliveries.create(plan, first_dispatch=False)
    relay = await storage.deliveries.create(plan, first_dispatch=True)

    assert [] == undispatched
    assert {} == relay
    assert 2 == len({d.id for d in first[event_id] + second[event_id]})
    assert 2 == len((await storage.deliveries.page(event_id=event_id)).items)


async def test_concurrent_claims_never_share_a_delivery(storage: Storage, storage_url: str) -> None:
    """Four workers claiming at once, each with its own pool, get distinct deliveries."""
    event_id = await stored_event(storage, "claims")
    await dispatched(storage, event_id, [Target(None, f"handler:h{i}") for i in range(40)])
    async with AsyncExitStack() as stack:
        workers = [
            await stack.enter_async_context(open_storage(storage_url, SECRET_KEY)) for _ in range(4)
        ]
        claims = await asyncio.gather(
            *(worker.deliveries.claim_due(lease_s=30, limit=15) for worker in workers)
        )

    ids = [d.id for claim in claims for d in claim]
    assert 40 == len(ids) == len(set(ids))


async def test_expired_lease_is_claimed_again(storage: Storage) -> None:
    """A worker that died holding a lease: after the lease ends, the delivery is claimable."""
    event_id = await stored_event(storage)
    await dispatched(storage, event_id, [Target(None, "handler:h")])
    now = time.time_ns() // 1000

    first = await storage.deliveries.claim_due(lease_s=30, now=now)
    during = await storage.deliveries.claim_due(lease_s=30, now=now + 10_000_000)
    after = await storage.deliveries.claim_due(lease_s=30, now=now + 31_000_000)

    assert (1, 0, 1) == (len(first), len(during), len(after))


async def test_recorded_attempt_reschedules_and_is_listed(storage: Storage) -> None:
    """A failed attempt is stored (body cut at 4 KiB) and the delivery waits for next time."""
    event_id = await stored_event(storage)
    [delivery] = await dispatched(storage, event_id, [Target(None, "handler:h")])
    [claimed] = await storage.deliveries.claim_due(lease_s=30)
    later = time.time_ns() // 1000 + 60_000_000

    updated = await recorded(storage, claimed.id, failure(later))
    [attempt] = await storage.attempts.for_delivery(delivery.id)

    assert ("pending", 1, later, 500) == (
        updated.status,
        updated.attempt_count,
        updated.next_attempt_at,
        updated.last_status_code,
    )
    assert (attempt.number, len(attempt.response_body or b""), attempt.error) == (
        1,
        4096,
        "http_status",
    )
    assert [] == await storage.deliveries.claim_due(lease_s=30)


async def test_retry_makes_a_failed_delivery_due(storage: Storage) -> None:
    """An operator retry turns a failed delivery back into a due, pending one."""
    event_id = await stored_event(storage)
    [delivery] = await dispatched(storage, event_id, [Target(None, "handler:h")])
    failed = await recorded(storage, delivery.id, replace(failure(None), status="failed"))
    retried = await storage.deliveries.retry(delivery.id)

    assert (failed.status, retried.status) == ("failed", "pending")
    assert [delivery.id] == [d.id for d in await storage.deliveries.claim_due(lease_s=30)]


async def test_member_sees_only_deliveries_of_own_subscriptions(storage: Storage) -> None:
    """Filtering by owner hides other owners' deliveries and makes them not found."""
    alice, _ = await storage.users.create("A", "a@x.io", "member")
    bob, _ = await storage.users.create("B", "b@x.io", "member")
    sub, _ = await storage.subscriptions.create(alice.id, SubscriptionFields(url="https://a.io/"))
    event_id = await stored_event(storage)
    [delivery] = await dispatched(storage, event_id, [Target(sub.id, "https://a.io/")])

    assert [delivery.id] == [d.id for d in (await storage.deliveries.page(owner_id=alice.id)).items]
    assert [] == list((await storage.deliveries.page(owner_id=bob.id)).items)
    assert [event_id] == [e.id for e in (await storage.events.page(owner_id=alice.id)).items]
    assert [] == list((await storage.events.page(owner_id=bob.id)).items)
    with pytest.raises(NotFoundError):
        await storage.deliveries.get(delivery.id, owner_id=bob.id)


async def test_leased_dispatch_is_not_claimed_until_the_lease_ends(storage: Storage) -> None:
    """Deliveries dispatched with a lease belong to the dispatcher until it runs out."""
    event_id = await stored_event(storage)
    now = time.time_ns() // 1000

    [delivery] = await dispatched(storage, event_id, [Target(None, "handler:h")], lease_s=30)

    assert [] == await storage.deliveries.claim_due(lease_s=30, now=now + 1_000_000)
    assert [delivery.id] == [
        d.id for d in await storage.deliveries.claim_due(lease_s=30, now=now + 31_000_000)
    ]
