"""Deliveries contract for the relay: batched dispatch and records, leases, postponing —
on both backends."""

from __future__ import annotations

import time
from dataclasses import replace

from storage import Storage
from storage.records import Outcome, SubscriptionFields, Target
from tests.storage.test_deliveries import dispatched, failure, recorded, stored_event

SECOND = 1_000_000


def success() -> Outcome:
    """A 200 answer: the delivery succeeded."""
    return replace(
        failure(None), response_status=200, error=None, error_detail=None, status="succeeded"
    )


async def test_first_dispatch_creates_each_events_deliveries_once(storage: Storage) -> None:
    """A batch dispatch skips events already dispatched and answers only the new ones."""
    first, second = await stored_event(storage, "a"), await stored_event(storage, "b")
    await dispatched(storage, first, [Target(None, "handler:h")])

    created = await storage.deliveries.create(
        [(first, [Target(None, "handler:h")]), (second, [Target(None, "handler:h")])],
        first_dispatch=True,
    )
    again = await storage.deliveries.create(
        [(second, [Target(None, "handler:h")])], first_dispatch=True
    )

    assert [second] == list(created)
    assert ["handler:h"] == [d.target for d in created[second]]
    assert {} == again
    assert 2 == len((await storage.deliveries.page()).items)


async def test_first_dispatch_marks_events_without_targets_dispatched(storage: Storage) -> None:
    """An event nobody wants is dispatched with no deliveries, so the sweeper leaves it."""
    event_id = await stored_event(storage)

    created = await storage.deliveries.create([(event_id, [])], first_dispatch=True)

    assert {event_id: []} == created
    assert [] == await storage.events.undispatched(time.time_ns() // 1000 + SECOND)


async def test_first_dispatch_leases_what_it_creates(storage: Storage) -> None:
    """With a lease, the dispatcher keeps its new deliveries from the sweeper."""
    event_id = await stored_event(storage)
    now = time.time_ns() // 1000

    await dispatched(storage, event_id, [Target(None, "handler:h")], lease_s=30)

    assert [] == await storage.deliveries.claim_due(lease_s=30, now=now + SECOND)
    assert 1 == len(await storage.deliveries.claim_due(lease_s=30, now=now + 31 * SECOND))


async def test_record_stores_attempts_and_keeps_finished_status(storage: Storage) -> None:
    """A late failure does not undo a success; every attempt is still stored and counted."""
    event_id = await stored_event(storage)
    targets = [Target(None, "handler:a"), Target(None, "handler:b")]
    a, b = await dispatched(storage, event_id, targets)
    later = time.time_ns() // 1000 + 60 * SECOND

    first = await storage.attempts.record([(a.id, success()), (b.id, failure(later))])
    second = await storage.attempts.record([(a.id, failure(later)), ("dlv_missing", success())])

    assert [("succeeded", 1, 200), ("pending", 1, 500)] == [
        (d.status, d.attempt_count, d.last_status_code) for d in first if d is not None
    ]
    assert second[1] is None
    assert second[0] is not None
    assert ("succeeded", 2, 200) == (
        second[0].status,
        second[0].attempt_count,
        second[0].last_status_code,
    )
    assert [1, 2] == [attempt.number for attempt in await storage.attempts.for_delivery(a.id)]


async def test_claim_by_ids_takes_only_due_unleased_deliveries(storage: Storage) -> None:
    """Claiming by id skips deliveries leased elsewhere, waiting, or finished."""
    event_id = await stored_event(storage)
    targets = [Target(None, f"handler:h{i}") for i in range(4)]
    free, leased, waiting, done = await dispatched(storage, event_id, targets)
    now = time.time_ns() // 1000
    await storage.deliveries.claim([leased.id], lease_s=30, now=now)
    await recorded(storage, waiting.id, failure(now + 60 * SECOND))
    await recorded(storage, done.id, success())
    ids = [free.id, leased.id, waiting.id, done.id]

    first = await storage.deliveries.claim(ids, lease_s=30, now=now)
    second = await storage.deliveries.claim(ids, lease_s=30, now=now)

    assert [free.id] == [d.id for d in first]
    assert [] == second
    assert sorted([free.id, leased.id]) == sorted(
        d.id for d in await storage.deliveries.claim(ids, lease_s=30, now=now + 31 * SECOND)
    )


async def test_postpone_waits_without_counting_an_attempt(storage: Storage) -> None:
    """A postponed delivery is released, due later, with no attempt recorded."""
    event_id = await stored_event(storage)
    [delivery] = await dispatched(storage, event_id, [Target(None, "handler:h")], lease_s=30)
    now = time.time_ns() // 1000

    assert 1 == await storage.deliveries.postpone([delivery.id], now + 20 * SECOND)
    assert [] == await storage.deliveries.claim_due(lease_s=5, now=now + 10 * SECOND)
    [due] = await storage.deliveries.claim_due(lease_s=5, now=now + 21 * SECOND)
    assert (delivery.id, 0) == (due.id, due.attempt_count)


async def test_release_makes_leased_deliveries_claimable_at_once(storage: Storage) -> None:
    """A worker shutting down releases its leases; another claims them immediately."""
    event_id = await stored_event(storage)
    [delivery] = await dispatched(storage, event_id, [Target(None, "handler:h")], lease_s=300)

    assert 1 == await storage.deliveries.release([delivery.id])
    assert [delivery.id] == [d.id for d in await storage.deliveries.claim_due(lease_s=5)]


async def test_cancel_touches_pending_deliveries_only(storage: Storage) -> None:
    """Cancelling leaves a finished delivery alone."""
    event_id = await stored_event(storage)
    targets = [Target(None, "handler:a"), Target(None, "handler:b")]
    done, waiting = await dispatched(storage, event_id, targets)
    await recorded(storage, done.id, success())

    assert 1 == await storage.deliveries.cancel([done.id, waiting.id])
    assert ("succeeded", "cancelled") == (
        (await storage.deliveries.get(done.id)).status,
        (await storage.deliveries.get(waiting.id)).status,
    )


async def test_expedite_and_due_count(storage: Storage) -> None:
    """After a breaker closes, its held-back deliveries become due; later retries stay."""
    user, _ = await storage.users.create("E", "e@x.io", "member")
    sub, _ = await storage.subscriptions.create(user.id, SubscriptionFields(url="https://e.io/"))
    event_id = await stored_event(storage)
    held, later = await dispatched(
        storage, event_id, [Target(sub.id, "https://e.io/"), Target(sub.id, "https://e.io/")]
    )
    now = time.time_ns() // 1000
    await storage.deliveries.postpone([held.id], now + 60 * SECOND)
    await storage.deliveries.postpone([later.id], now + 3600 * SECOND)
    before = await storage.deliveries.due_count(now)

    assert 1 == await storage.deliveries.expedite(sub.id, not_after=now + 60 * SECOND, now=now)
    assert (0, 1) == (before, await storage.deliveries.due_count(now))
    assert [held.id] == [d.id for d in await storage.deliveries.claim_due(lease_s=5, now=now)]


async def test_record_numbers_attempts_in_a_large_batch(storage: Storage) -> None:
    """Fifty deliveries in one batch, one of them twice: every attempt is numbered."""
    event_id = await stored_event(storage)
    deliveries = await dispatched(
        storage, event_id, [Target(None, f"handler:{n}") for n in range(50)]
    )
    later = time.time_ns() // 1000 + 60 * SECOND
    twice = deliveries[7].id

    answers = await storage.attempts.record(
        [(d.id, failure(later)) for d in deliveries] + [(twice, success())]
    )

    assert [1] * 50 + [2] == [d.attempt_count for d in answers if d is not None]
    assert ("succeeded", [1, 2]) == (
        (await storage.deliveries.get(twice)).status,
        [a.number for a in await storage.attempts.for_delivery(twice)],
    )
