"""Subscription health contract: failure counts, breaker probes, disabling — on both backends."""

from __future__ import annotations

import time

from storage import Storage
from storage.records import Health, Outcome, Target
from tests.storage.test_deliveries import dispatched, stored_event
from tests.storage.test_subscriptions import FIELDS, owner

SECOND = 1_000_000


async def test_failures_count_up_and_success_clears_them(storage: Storage) -> None:
    """Consecutive failures accumulate from the first one's time; a recorded success
    (the relay's path: ``attempts.record`` clearing the subscription) resets all."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "h@x.io"), FIELDS)
    event_id = await stored_event(storage)
    [delivery] = await dispatched(storage, event_id, [Target(sub.id, FIELDS.url)])
    now = time.time_ns() // 1000

    await storage.subscriptions.note_failure(sub.id, now)
    second = await storage.subscriptions.note_failure(sub.id, now + SECOND)
    await storage.subscriptions.open_breaker(sub.id, now + 60 * SECOND)
    opened = await storage.subscriptions.health([sub.id])
    success = Outcome(now, 1.0, {}, response_status=200, status="succeeded")
    await storage.attempts.record([(delivery.id, success)], clear=[sub.id])

    assert Health(2, now, None) == second
    assert {sub.id: Health(2, now, now + 60 * SECOND)} == opened
    assert {sub.id: Health()} == await storage.subscriptions.health([sub.id])


async def test_exactly_one_caller_gets_the_half_open_probe(storage: Storage) -> None:
    """Before the cooldown ends nobody probes; after it, only the first caller does."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "p@x.io"), FIELDS)
    now = time.time_ns() // 1000
    await storage.subscriptions.open_breaker(sub.id, now + 60 * SECOND)

    early = await storage.subscriptions.claim_probe(sub.id, now + 120 * SECOND, now=now)
    first = await storage.subscriptions.claim_probe(
        sub.id, now + 120 * SECOND, now=now + 61 * SECOND
    )
    second = await storage.subscriptions.claim_probe(
        sub.id, now + 120 * SECOND, now=now + 61 * SECOND
    )

    assert (False, True, False) == (early, first, second)


async def test_disable_cancels_pending_deliveries_once(storage: Storage) -> None:
    """Disabling records the reason, cancels pending deliveries, resets health; only the
    first call reports having disabled it."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "x@x.io"), FIELDS)
    event_id = await stored_event(storage)
    created = await storage.deliveries.create(
        [(event_id, [Target(sub.id, FIELDS.url)])], first_dispatch=True
    )
    [delivery] = created[event_id]
    await storage.subscriptions.note_failure(sub.id)

    first = await storage.subscriptions.disable(sub.id, "endpoint answered 410 Gone")
    second = await storage.subscriptions.disable(sub.id, "again")
    disabled = await storage.subscriptions.get(sub.id)

    assert (True, False) == (first, second)
    assert (False, "endpoint answered 410 Gone") == (
        disabled.fields.enabled,
        disabled.disabled_reason,
    )
    assert "cancelled" == (await storage.deliveries.get(delivery.id)).status
    assert {sub.id: Health()} == await storage.subscriptions.health([sub.id])
    assert [] == await storage.subscriptions.enabled()


async def test_a_subscription_is_read_with_its_health(storage: Storage) -> None:
    """A subscription comes with its breaker's health; disabled ones are not enabled."""
    owner_id = await owner(storage, "w@x.io")
    sub, _ = await storage.subscriptions.create(owner_id, FIELDS)
    off, _ = await storage.subscriptions.create(owner_id, FIELDS)
    await storage.subscriptions.disable(off.id, "off")
    now = time.time_ns() // 1000
    await storage.subscriptions.note_failure(sub.id, now)

    found = await storage.subscriptions.get(sub.id)

    assert Health(1, now, None) == found.health.breaker
    assert [sub.id] == [enabled.id for enabled in await storage.subscriptions.enabled()]
