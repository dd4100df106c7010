"""A real ``hookgate worker`` process serves ``/healthz``, ``/readyz`` and ``/metrics``
on ``worker.port``, with the backlog an operator alerts on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import orjson
from prometheus_client.parser import text_string_to_metric_families

from core.clock import SECOND_US, now_us
from storage import Storage
from storage.deliveries import Deliveries
from storage.records import Target
from tests.relay.conftest import free_port
from tests.relay.processes import start_worker, stop, write_worker_config
from tests.storage.test_retention import seed

NAMES = {
    "hookgate_deliveries",
    "hookgate_delivery_attempt_seconds",
    "hookgate_queue_depth",
    "hookgate_deliveries_pending",
    "hookgate_oldest_pending_age_seconds",
    "hookgate_breakers_open",
    "hookgate_purged",
}


def samples(text: str) -> dict[str, float]:
    """Each unlabelled sample's value, by name, and every metric family's name as 1."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        found.setdefault(family.name, 1.0)
        for sample in family.samples:
            if not sample.labels:
                found[sample.name] = sample.value
    return found


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    """Status and body of ``GET url``."""
    async with session.get(url) as response:
        return response.status, await response.read()


async def wait_for_pending(session: aiohttp.ClientSession, base: str) -> dict[str, float]:
    """The worker's metrics once its gauges show a pending delivery (bounded)."""
    for _ in range(300):
        try:
            status, body = await get(session, f"{base}/metrics")
        except aiohttp.ClientConnectionError:
            status, body = 0, b""
        if status == 200:
            found = samples(body.decode())
            if found.get("hookgate_deliveries_pending") == 1.0:
                return found
        await asyncio.sleep(0.1)
    raise AssertionError("the worker never showed its pending delivery")


async def test_worker_serves_health_readiness_and_metrics(
    storage: Storage, storage_url: str, private_redis: str, tmp_path: Path
) -> None:
    """With a delivery pending for a minute (its retry an hour away), the worker's
    /metrics shows a backlog of one, an oldest pending age of at least 60 s and every
    metric SPEC §10 names; /healthz is 200 and /readyz 200 with storage and Redis ok."""
    now = now_us()
    event_id = await seed(storage, now - 120 * SECOND_US, [])
    await storage.db.execute("UPDATE events SET dispatched_at = NULL WHERE id = $1", event_id)
    earlier = Deliveries(storage.db, clock=lambda: now - 60 * SECOND_US)
    created = await earlier.create([(event_id, [Target(None, "handler:h")])], first_dispatch=True)
    await storage.deliveries.postpone([d.id for d in created[event_id]], now + 3600 * SECOND_US)
    port = free_port()
    config = write_worker_config(tmp_path, storage_url, private_redis, worker_port=port)
    log = tmp_path / "worker.log"
    process = await start_worker(config, log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            found = await wait_for_pending(session, base)
            health = await get(session, f"{base}/healthz")
            ready_status, ready_body = await get(session, f"{base}/readyz")
    finally:
        exit_status = await stop(process, log)

    assert set() == NAMES - set(found)
    assert found["hookgate_oldest_pending_age_seconds"] >= 60.0
    assert (200, {"status": "ok"}) == (health[0], orjson.loads(health[1]))
    expected = {"status": "ready", "checks": {"storage": "ok", "redis": "ok"}}
    assert (200, expected) == (ready_status, orjson.loads(ready_body))
    assert 0 == exit_status
