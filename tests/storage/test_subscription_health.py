"""Subscription health contract: failure counts, breaker probes, disabling — on both backends."""

from __future__ import annotations

import time

from storage import Storage
from storage.records import Health, Target
from tests.storage.test_deliveries import stored_event
from tests.storage.test_subscriptions import FIELDS, owner

SECOND = 1_000_000


async def test_failures_count_up_and_success_clears_them(storage: Storage) -> None:
    """Consecutive failures accumulate from the first one's time; a success resets all."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "h@x.io"), FIELDS)
    now = time.time_ns() // 1000

    await storage.subscriptions.note_failure(sub.id, now)
    second = await storage.subscriptions.note_failure(sub.id, now + SECOND)
    await storage.subscriptions.open_breaker(sub.id, now + 60 * SECOND)
    opened = await storage.subscriptions.health([sub.id])
    changed = await storage.subscriptions.note_successes([sub.id])
    unchanged = await storage.subscriptions.note_successes([sub.id])

    assert Health(2, now, None) == second
    assert {sub.id: Health(2, now, now + 60 * SECOND)} == opened
    assert (1, 0) == (changed, unchanged)
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


async def test_enabled_with_health_reads_both_at_once(storage: Storage) -> None:
    """Enabled subscriptions come with their health; disabled ones do not come."""
    owner_id = await owner(storage, "w@x.io")
    sub, _ = await storage.subscriptions.create(owner_id, FIELDS)
    off, _ = await storage.subscriptions.create(owner_id, FIELDS)
    await storage.subscriptions.disable(off.id, "off")
    now = time.time_ns() // 1000
    await storage.subscriptions.note_failure(sub.id, now)

    [(found, health)] = await storage.subscriptions.enabled_with_health()

    assert (sub.id, Health(1, now, None)) == (found.id, health)
    assert found == await storage.subscriptions.get(sub.id)
