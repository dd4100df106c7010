"""The retention purge as the workers run it: one worker at a time under the lease,
counted in the relay's metrics; and the backlog gauges the worker's /metrics shows."""

from __future__ import annotations

import asyncio

from core.clock import SECOND_US, now_us
from core.config import RetentionConfig
from core.queue import Queue
from relay.metrics import RelayMetrics
from relay.observe import Gauges
from relay.retention import LEASE_NAME, Purger
from storage import Storage
from storage.deliveries import Deliveries
from storage.records import SubscriptionFields, Target
from storage.retention import Purged
from tests.relay.conftest import REDIS_URL
from tests.storage.test_retention import DAY_US, ids, seed

RETENTION = RetentionConfig(events_s=30 * 86400.0, attempts_s=30 * 86400.0)


def sample(metrics: RelayMetrics, name: str, **labels: str) -> float | None:
    """The value of one sample of ``metrics``."""
    return metrics.registry.get_sample_value(name, labels)


async def test_two_workers_never_purge_at_once(storage: Storage) -> None:
    """Two purgers started together: one takes the lease and purges everything (in
    batches of 2), the other skips the round; each counts only what it purged."""
    now = now_us()
    for _ in range(5):
        await seed(storage, now - 40 * DAY_US, ["succeeded"])
    metrics = [RelayMetrics(), RelayMetrics()]
    purgers = [Purger(storage=storage, config=RETENTION, metrics=m, batch_size=2) for m in metrics]

    results = await asyncio.gather(*(purger.purge() for purger in purgers))

    assert [None, Purged(5, 5, 5)] == sorted(results, key=lambda r: r is not None)
    counted = [sample(m, "hookgate_purged_total", kind="events") for m in metrics]
    assert [0.0, 5.0] == sorted(c or 0.0 for c in counted)
    assert set() == await ids(storage, "events")
    assert None is await storage.locks.holder(LEASE_NAME)


async def test_a_held_lease_stops_the_purge_until_released(storage: Storage) -> None:
    """While another worker holds the lease a purge deletes nothing; once released it
    purges, and counts every kind."""
    await seed(storage, now_us() - 40 * DAY_US, ["succeeded", "failed"])
    metrics = RelayMetrics()
    purger = Purger(storage=storage, config=RETENTION, metrics=metrics)
    await storage.locks.acquire(LEASE_NAME, "another-worker", 60)

    while_held = await purger.purge()
    kept = len(await ids(storage, "events"))
    await storage.locks.release(LEASE_NAME, "another-worker")
    after = await purger.purge()

    assert (None, 1, Purged(1, 2, 2)) == (while_held, kept, after)
    assert [1.0, 2.0, 2.0] == [
        sample(metrics, "hookgate_purged_total", kind=kind)
        for kind in ("events", "deliveries", "attempts")
    ]


async def test_zero_ages_keep_everything(storage: Storage) -> None:
    """``events: 0`` and ``attempts: 0``: nothing goes, however old."""
    await seed(storage, now_us() - 400 * DAY_US, ["succeeded"])
    purger = Purger(
        storage=storage, config=RetentionConfig(events_s=0, attempts_s=0), metrics=RelayMetrics()
    )

    purged = await purger.purge()

    assert (Purged(), 1) == (purged, len(await ids(storage, "events")))


async def test_gauges_show_the_oldest_pending_delivery_and_open_breakers(
    storage: Storage,
) -> None:
    """A delivery pending for 90 s shows as an oldest pending age of 90 s and a backlog
    of one; a subscription whose breaker is open counts as an open breaker."""
    now = now_us()
    event_id = await seed(storage, now - 120 * SECOND_US, [])
    await storage.db.execute("UPDATE events SET dispatched_at = NULL WHERE id = $1", event_id)
    earlier = Deliveries(storage.db, clock=lambda: now - 90 * SECOND_US)
    await earlier.create([(event_id, [Target(None, "handler:audit")])], first_dispatch=True)
    user, _ = await storage.users.create("Ops", "ops@example.com", "operator")
    subscription, _ = await storage.subscriptions.create(
        user.id, SubscriptionFields(url="https://hooks.example.org/in")
    )
    await storage.subscriptions.open_breaker(subscription.id, now + 60 * SECOND_US)
    metrics = RelayMetrics()
    queue = Queue.connect(REDIS_URL, name="hookgate:test:gauges")
    try:
        await Gauges(storage=storage, queue=queue, metrics=metrics, clock=lambda: now).refresh()
    finally:
        await queue.close()

    assert (90.0, 1.0, 1.0, 0.0) == (
        sample(metrics, "hookgate_oldest_pending_age_seconds"),
        sample(metrics, "hookgate_deliveries_pending"),
        sample(metrics, "hookgate_breakers_open"),
        sample(metrics, "hookgate_queue_depth"),
    )
