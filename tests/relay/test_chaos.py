"""``hookgate worker`` as a real process, with a private redis-server: a graceful SIGTERM
releases what it cannot finish; kill -9, FLUSHALL mid-run, and Redis going away and
coming back lose nothing."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from core.queue import DISPATCH_EVENTS, close_queue, connect_queue
from storage import Storage
from storage.records import NewEvent, SubscriptionFields
from tests.relay.conftest import Receiver, Reply, free_port
from tests.relay.processes import (
    flush,
    redis_server,
    start_worker,
    stop,
    write_worker_config,
)


async def until(condition: Callable[[], Awaitable[bool]], rounds: int = 600) -> None:
    """Wait until ``condition()`` (checked every 0.1 s); fail after ``rounds`` checks."""
    for _ in range(rounds):
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


async def store_events(storage: Storage, count: int, tag: str) -> list[str]:
    """``count`` stored events."""
    ids = []
    for n in range(count):
        stored = await storage.events.store(
            NewEvent(
                "stripe",
                "invoice.paid",
                f"{tag}-{n}",
                {"content-type": "application/json"},
                b'{"n": %d}' % n,
                time.time_ns() // 1000,
            )
        )
        ids.append(stored.id)
    return ids


async def enqueue(redis_url: str, event_ids: list[str], per_job: int = 10) -> None:
    """Enqueue dispatch jobs for ``event_ids`` as the gateway does."""
    queue = connect_queue(redis_url)
    try:
        for start in range(0, len(event_ids), per_job):
            await queue.enqueue_job(DISPATCH_EVENTS, event_ids[start : start + per_job])
    finally:
        await close_queue(queue)


async def subscribe(storage: Storage, receiver: Receiver, *names: str) -> list[str]:
    """One subscription per endpoint name."""
    user, _ = await storage.users.create("Chaos", "chaos@example.com", "member")
    subs = []
    for name in names:
        sub, _ = await storage.subscriptions.create(
            user.id, SubscriptionFields(url=receiver.url(name))
        )
        subs.append(sub.id)
    return subs


async def all_succeeded(storage: Storage, expected: int) -> bool:
    """Whether ``expected`` deliveries exist and all succeeded."""
    rows = await storage.db.fetch("SELECT status FROM deliveries")
    return len(rows) == expected and all(row["status"] == "succeeded" for row in rows)


async def test_sigterm_finishes_or_releases_in_flight_work(
    storage: Storage, storage_url: str, private_redis: str, receiver: Receiver, tmp_path: Path
) -> None:
    """SIGTERM mid-delivery: the worker exits 0 leaving no delivery leased, and the next
    worker delivers everything."""
    await asyncio.to_thread(flush, private_redis)
    receiver.script("slow", Reply(delay_s=0.4))
    await subscribe(storage, receiver, "slow")
    event_ids = await store_events(storage, 40, "term")
    await enqueue(private_redis, event_ids)
    config = write_worker_config(tmp_path, storage_url, private_redis)

    log = tmp_path / "worker.log"
    first = await start_worker(config, log)
    await until(lambda: _true(receiver.in_flight > 0))
    status = await stop(first, log, signal.SIGTERM)
    leased = await storage.db.fetch(
        "SELECT id FROM deliveries WHERE status = 'pending' AND lease_until IS NOT NULL"
    )
    second = await start_worker(config, log)
    await until(lambda: all_succeeded(storage, 40))
    second_status = await stop(second, log, signal.SIGTERM)

    assert (0, 0) == (status, second_status)
    assert [] == leased
    assert set(event_ids) == {hit.headers["webhook-id"] for hit in receiver.of("slow")}


async def test_kill_9_and_flushall_lose_nothing(
    storage: Storage, storage_url: str, private_redis: str, receiver: Receiver, tmp_path: Path
) -> None:
    """kill -9 a worker mid-delivery, lose its queue to FLUSHALL twice (before and during
    the next worker's run): every delivery succeeds and each event reaches each endpoint."""
    await asyncio.to_thread(flush, private_redis)
    receiver.script("a", Reply(delay_s=0.3))
    receiver.script("b", Reply(delay_s=0.3))
    subs = await subscribe(storage, receiver, "a", "b")
    config = write_worker_config(tmp_path, storage_url, private_redis)
    log = tmp_path / "worker.log"
    first_wave = await store_events(storage, 40, "wave1")
    await enqueue(private_redis, first_wave)

    doomed = await start_worker(config, log)
    await until(lambda: _true(len(receiver.hits) >= 5 and receiver.in_flight > 0))
    killed = await stop(doomed, log, signal.SIGKILL)
    second_wave = await store_events(storage, 40, "wave2")
    await enqueue(private_redis, second_wave)
    await asyncio.to_thread(flush, private_redis)  # the second wave's jobs are gone

    survivor = await start_worker(config, log)
    seen = len(receiver.hits)
    await until(lambda: _true(len(receiver.hits) >= seen + 5))
    await asyncio.to_thread(flush, private_redis)  # and whatever was queued meanwhile
    await until(lambda: all_succeeded(storage, 160))
    status = await stop(survivor, log, signal.SIGTERM)

    assert -signal.SIGKILL == killed
    assert 0 == status
    events = set(first_wave + second_wave)
    for name in ("a", "b"):
        assert events == {hit.headers["webhook-id"] for hit in receiver.of(name)}
    recorded = await storage.db.fetch(
        "SELECT d.id, d.subscription_id, a.response_status FROM deliveries d "
        "JOIN attempts a ON a.delivery_id = d.id AND a.number = d.attempt_count"
    )
    assert 160 == len(recorded)
    assert {200} == {row["response_status"] for row in recorded}
    assert set(subs) == {row["subscription_id"] for row in recorded}
    assert {row["id"] for row in recorded} <= {
        hit.headers["hookgate-delivery-id"] for hit in receiver.hits
    }


async def _true(value: bool) -> bool:
    return value


async def test_redis_outage_and_restart_lose_nothing(
    storage: Storage, storage_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    """Redis stops: events stored meanwhile (no job could be enqueued) are still delivered,
    from storage alone; Redis comes back: the worker's arq loop restarts and takes jobs."""
    port = free_port()
    await subscribe(storage, receiver, "steady")
    log = tmp_path / "worker.log"
    with redis_server(tmp_path / "first", port) as redis_url:
        config = write_worker_config(tmp_path, storage_url, redis_url)
        worker = await start_worker(config, log)
        before = await store_events(storage, 5, "before")
        await enqueue(redis_url, before)
        await until(lambda: all_succeeded(storage, 5))
    during = await store_events(storage, 5, "during")  # Redis is down: nothing enqueued
    await until(lambda: all_succeeded(storage, 10))
    with redis_server(tmp_path / "second", port) as redis_url:
        after = await store_events(storage, 5, "after")
        await enqueue(redis_url, after)
        await until(lambda: all_succeeded(storage, 15))
        status = await stop(worker, log, signal.SIGTERM)

    assert 0 == status
    assert set(before + during + after) == {h.headers["webhook-id"] for h in receiver.hits}
    assert "arq_worker_failed" in await asyncio.to_thread(log.read_text)
