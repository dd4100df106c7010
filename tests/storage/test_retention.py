"""Retention on both backends: what a purge deletes, what it keeps, in batches, and the
lease that keeps two workers from purging at once."""

from __future__ import annotations

import asyncio
import secrets

from core.clock import SECOND_US, now_us
from core.ids import first_id
from storage import Storage
from storage.locks import Locks
from storage.records import DeliveryStatus, NewEvent, Outcome, Target
from storage.retention import Cutoffs, Purged
from storage.rollups import LATENCY_COLUMNS, hour_of

DAY_US = 86_400 * SECOND_US
HOUR_US = 3600 * SECOND_US


async def seed(storage: Storage, received_at: int, statuses: list[DeliveryStatus]) -> str:
    """An event received at ``received_at`` with one delivery per status, each after one
    attempt (a pending one waits an hour for its next)."""
    stored = await storage.events.store(
        NewEvent(
            source="stripe",
            type="invoice.paid",
            provider_event_id=secrets.token_hex(8),
            headers={"content-type": "application/json"},
            body=b"{}",
            received_at=received_at,
        )
    )
    targets = [Target(None, f"handler:h{n}") for n in range(len(statuses))]
    created = await storage.deliveries.create([(stored.id, targets)], first_dispatch=True)
    await record(storage, [d.id for d in created[stored.id]], statuses)
    return stored.id


async def record(storage: Storage, delivery_ids: list[str], statuses: list[DeliveryStatus]) -> None:
    """One attempt for each delivery, leaving it in its status."""
    await storage.attempts.record(
        [
            (
                delivery_id,
                Outcome(
                    started_at=now_us(),
                    duration_ms=1.0,
                    request_headers={},
                    response_status=200 if status == "succeeded" else 500,
                    error=None if status == "succeeded" else "http_status",
                    status=status,
                    next_attempt_at=now_us() + HOUR_US if status == "pending" else None,
                ),
            )
            for delivery_id, status in zip(delivery_ids, statuses, strict=True)
        ]
    )


async def ids(storage: Storage, table: str) -> set[str]:
    """Every id in ``table``."""
    return {row["id"] for row in await storage.db.fetch(f"SELECT id FROM {table}")}


async def delivery_ids_of(storage: Storage, event_id: str) -> set[str]:
    """The ids of ``event_id``'s deliveries."""
    rows = await storage.db.fetch("SELECT id FROM deliveries WHERE event_id = $1", event_id)
    return {row["id"] for row in rows}


async def purge_all(storage: Storage, cutoffs: Cutoffs, batch_size: int = 100) -> list[Purged]:
    """Every batch a purge with ``cutoffs`` deletes."""
    return [batch async for batch in storage.retention.purge(cutoffs, batch_size)]


async def test_purge_takes_old_events_with_their_history_and_keeps_pending_and_young(
    storage: Storage,
) -> None:
    """An old finished event goes with its deliveries and attempts; an old event with a
    pending delivery stays whole (its finished delivery too), and so does a young one."""
    now = now_us()
    old_done = await seed(storage, now - 40 * DAY_US, ["succeeded", "failed"])
    old_pending = await seed(storage, now - 40 * DAY_US, ["succeeded", "pending"])
    young = await seed(storage, now - DAY_US, ["succeeded"])
    kept_deliveries = await delivery_ids_of(storage, old_pending) | await delivery_ids_of(
        storage, young
    )

    batches = await purge_all(
        storage, Cutoffs(events_before=now - 30 * DAY_US, attempts_before=None)
    )

    assert Purged(events=1, deliveries=2, attempts=2) == sum(batches, Purged())
    assert {old_pending, young} == await ids(storage, "events")
    assert kept_deliveries == await ids(storage, "deliveries")
    assert 3 == len(await ids(storage, "attempts"))
    assert old_done not in await ids(storage, "events")


async def test_old_attempts_go_on_their_own_except_those_of_pending_deliveries(
    storage: Storage,
) -> None:
    """Attempts recorded before the cutoff go, their deliveries and events stay; the
    attempts of a delivery still pending stay, and so do younger attempts."""
    event_id = await seed(storage, now_us(), ["succeeded", "pending", "failed"])
    rows = await storage.db.fetch(
        "SELECT id FROM deliveries WHERE event_id = $1 ORDER BY target", event_id
    )
    first, pending, third = (row["id"] for row in rows)
    attempts_before = await ids(storage, "attempts")
    await asyncio.sleep(0.005)  # attempt ids carry their millisecond
    cutoff = now_us()
    await asyncio.sleep(0.005)
    await storage.deliveries.retry(third)
    await record(storage, [third], ["succeeded"])
    old_of = {
        row["delivery_id"]: row["id"]
        for row in await storage.db.fetch("SELECT id, delivery_id FROM attempts")
        if row["id"] in attempts_before
    }

    batches = await purge_all(storage, Cutoffs(events_before=None, attempts_before=cutoff))

    assert Purged(attempts=2) == sum(batches, Purged())
    remaining = await ids(storage, "attempts")
    assert (False, True, False) == tuple(old_of[d] in remaining for d in (first, pending, third))
    assert 2 == len(remaining)
    assert {first, pending, third} == await ids(storage, "deliveries")


async def test_purge_runs_in_batches_of_the_size_given(storage: Storage) -> None:
    """Five old events purged with a batch size of 2 go in three transactions: 2, 2, 1."""
    now = now_us()
    for _ in range(5):
        await seed(storage, now - 40 * DAY_US, ["succeeded"])

    batches = await purge_all(storage, Cutoffs(now - 30 * DAY_US, None), batch_size=2)

    assert [2, 2, 1] == [batch.events for batch in batches]
    assert [2, 2, 1] == [batch.attempts for batch in batches]
    assert set() == await ids(storage, "events")


async def test_count_says_what_a_purge_deletes_and_deletes_nothing(storage: Storage) -> None:
    """``count`` (the dry run) answers exactly what the purge then deletes, by kind, and
    leaves every row in place."""
    now = now_us()
    await seed(storage, now - 40 * DAY_US, ["succeeded", "failed"])
    await seed(storage, now - 40 * DAY_US, ["pending"])
    young = await seed(storage, now, ["succeeded", "failed"])
    await asyncio.sleep(0.005)
    cutoffs = Cutoffs(now - 30 * DAY_US, now_us())
    rows_before = [len(await ids(storage, table)) for table in ("events", "deliveries", "attempts")]

    counted = await storage.retention.count(cutoffs)
    rows_after_count = [len(await ids(storage, t)) for t in ("events", "deliveries", "attempts")]
    purged = sum(await purge_all(storage, cutoffs), Purged())

    assert Purged(events=1, deliveries=2, attempts=4) == counted
    assert rows_before == rows_after_count
    assert counted == purged
    assert young in await ids(storage, "events")


async def test_a_lease_has_one_holder_until_released_or_run_out(storage: Storage) -> None:
    """The first holder wins and may renew; another is refused until it releases, and a
    lease whose holder went quiet is taken once it runs out."""
    name = f"test-{secrets.token_hex(4)}"
    now = [now_us()]
    locks = Locks(storage.db, clock=lambda: now[0])

    taken = await locks.acquire(name, "a", 10)
    refused = await locks.acquire(name, "b", 10)
    renewed = await locks.acquire(name, "a", 10)
    await locks.release(name, "a")
    after_release = await locks.acquire(name, "b", 10)
    now[0] += 11 * SECOND_US
    after_run_out = await locks.acquire(name, "a", 10)
    holder = await locks.holder(name)
    await locks.release(name, "a")

    assert (True, False, True, True, True, "a") == (
        taken,
        refused,
        renewed,
        after_release,
        after_run_out,
        holder,
    )


async def test_racing_holders_never_both_win(storage: Storage) -> None:
    """Ten holders racing for a free lease: exactly one gets it."""
    name = f"test-{secrets.token_hex(4)}"

    won = await asyncio.gather(*(storage.locks.acquire(name, f"h{n}", 30) for n in range(10)))
    await storage.locks.release(name, f"h{won.index(True)}")

    assert 1 == sum(won)


async def test_old_rollups_go_with_the_attempts_in_batches(storage: Storage) -> None:
    """Roll-ups of the hours wholly before the attempts' cutoff go, in batches of
    about the size given; the hour the cutoff falls in and younger ones stay, and the
    dry run counted them."""
    now = now_us()
    cutoff = now - 30 * DAY_US
    old = [cutoff - n * HOUR_US for n in range(1, 6)]
    await storage.db.executemany(
        "INSERT INTO attempt_rollups (subscription_key, hour, succeeded, failed, "
        f"duration_ms_sum, duration_ms_max, {', '.join(LATENCY_COLUMNS)}) "
        f"VALUES ($1, $2, 1, 0, 1.0, 1.0, {', '.join('0' for _ in LATENCY_COLUMNS)})",
        [(key, hour_of(at)) for at in [*old, cutoff, now] for key in ("", "sub_1")],
    )

    counted = await storage.retention.count(Cutoffs(None, cutoff))
    batches = await purge_all(storage, Cutoffs(None, cutoff), batch_size=4)

    left = await storage.db.fetch("SELECT hour FROM attempt_rollups ORDER BY hour")
    assert [4, 4, 2] == [batch.rollups for batch in batches]
    assert Purged(rollups=10) == counted
    assert [hour_of(cutoff)] * 2 + [hour_of(now)] * 2 == [row["hour"] for row in left]


async def test_jobs_finished_before_the_events_cutoff_go(storage: Storage) -> None:
    """A job finished before the events' cutoff goes; a running one as old, and one
    finished after the cutoff, stay."""
    now = now_us()
    user, _ = await storage.users.create("Ops", "ops@x.io", "operator")
    old = now - 40 * DAY_US
    rows = [
        (first_id("job", old // 1000) + "a", "succeeded", old),
        (first_id("job", old // 1000) + "b", "running", None),
        (first_id("job", old // 1000) + "c", "cancelled", now),
    ]
    await storage.db.executemany(
        "INSERT INTO jobs (id, kind, created_by, filters, status, matched, created_at, "
        "updated_at, finished_at) VALUES ($1, 'retry', $2, '{}', $3, 0, $4, $4, $5)",
        [(job_id, user.id, status, old, finished) for job_id, status, finished in rows],
    )
    cutoffs = Cutoffs(now - 30 * DAY_US, None)

    counted = await storage.retention.count(cutoffs)
    purged = sum(await purge_all(storage, cutoffs), Purged())

    assert (Purged(jobs=1), Purged(jobs=1)) == (counted, purged)
    assert {rows[1][0], rows[2][0]} == await ids(storage, "jobs")
