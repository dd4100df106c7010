"""Ordered delivery with real ``hookgate worker`` processes and a private redis-server:
a fifo endpoint receives its events in the order they were received, one at a time,
with a failing event's retries before the next event — across two workers, and after
the worker holding the head is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from storage import Storage
from storage.records import SubscriptionFields
from tests.relay.conftest import Receiver, Reply
from tests.relay.processes import flush, start_worker, stop, write_worker_config
from tests.relay.test_chaos import all_succeeded, enqueue, store_events, until


async def fifo_endpoint(storage: Storage, receiver: Receiver, name: str) -> None:
    """A fifo subscription to the receiver's endpoint ``name``."""
    user, _ = await storage.users.create("Ledger", "ledger@example.com", "member")
    await storage.subscriptions.create(
        user.id, SubscriptionFields(url=receiver.url(name), ordering="fifo")
    )


async def received_order(storage: Storage) -> list[str]:
    """Event ids in the order they were received (``received_at``, then id)."""
    rows = await storage.db.fetch("SELECT id FROM events ORDER BY received_at, id")
    return [row["id"] for row in rows]


async def test_two_workers_deliver_a_fifo_endpoint_in_received_order(
    storage: Storage, storage_url: str, private_redis: str, receiver: Receiver, tmp_path: Path
) -> None:
    """20 events, the 3rd refused twice, two workers: the endpoint sees the events in
    received order, the 3rd three times before the 4th, never two at once."""
    await asyncio.to_thread(flush, private_redis)
    receiver.script("ledger", Reply(), Reply(), Reply(status=500), Reply(status=500), Reply())
    await fifo_endpoint(storage, receiver, "ledger")
    await store_events(storage, 20, "fifo")
    order = await received_order(storage)
    config = write_worker_config(tmp_path, storage_url, private_redis)
    log = tmp_path / "worker.log"

    workers = [await start_worker(config, log), await start_worker(config, log)]
    await enqueue(private_redis, order[10:], per_job=5)  # later events first, in 4 jobs
    await enqueue(private_redis, order[:10], per_job=5)
    await until(lambda: all_succeeded(storage, 20))
    statuses = [await stop(worker, log) for worker in workers]

    expected = [*order[:3], order[2], order[2], *order[3:]]
    assert expected == [hit.headers["webhook-id"] for hit in receiver.of("ledger")]
    assert 1 == receiver.most_in_flight
    assert [0, 0] == statuses


async def test_the_order_holds_when_the_worker_holding_the_head_is_killed(
    storage: Storage, storage_url: str, private_redis: str, receiver: Receiver, tmp_path: Path
) -> None:
    """kill -9 the worker while the 5th event is on the wire: once its lease runs out,
    two fresh workers send the 5th again, then the rest, still in received order."""
    await asyncio.to_thread(flush, private_redis)
    replies = [Reply()] * 4 + [Reply(delay_s=30)] + [Reply()]
    receiver.script("ledger", *replies)
    await fifo_endpoint(storage, receiver, "ledger")
    await store_events(storage, 12, "kill")
    order = await received_order(storage)
    config = write_worker_config(tmp_path, storage_url, private_redis)
    log = tmp_path / "worker.log"

    holder = await start_worker(config, log)
    await enqueue(private_redis, order)
    await until(lambda: _true(len(receiver.of("ledger")) == 5 and receiver.in_flight == 1))
    killed = await stop(holder, log, signal.SIGKILL)
    survivors = [await start_worker(config, log), await start_worker(config, log)]
    await until(lambda: all_succeeded(storage, 12), rounds=900)
    statuses = [await stop(worker, log) for worker in survivors]

    expected = [*order[:5], *order[4:]]
    assert expected == [hit.headers["webhook-id"] for hit in receiver.of("ledger")]
    assert (-signal.SIGKILL, [0, 0]) == (killed, statuses)


async def _true(value: bool) -> bool:
    return value
