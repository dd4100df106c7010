"""Keyset pagination: a walk over 1,000 rows sees each exactly once while rows are being
inserted concurrently, newest first, on both backends."""

from __future__ import annotations

import asyncio
import secrets

from storage import Storage
from storage.records import Delivery, NewEvent, Target
from tests.gateway.api.conftest import Api, add_subscription, now_us

ROWS = 1_000
PAGE = 37


async def store_events(storage: Storage, count: int) -> set[str]:
    """``count`` events stored concurrently (group commit batches them); their ids."""
    stored = await asyncio.gather(
        *(
            storage.events.store(
                NewEvent("src-github", "push", secrets.token_hex(8), {}, b"{}", now_us())
            )
            for _ in range(count)
        )
    )
    return {event.id for event in stored}


async def walk(api: Api, path: str) -> list[str]:
    """Every id of the list at ``path``, page by page."""
    seen: list[str] = []
    cursor = None
    while True:
        query = f"?limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
        answer = await api.call("GET", f"{path}{query}", as_="operator")
        assert 200 == answer.status
        seen += [item["id"] for item in answer.body["data"]]
        cursor = answer.body["next_cursor"]
        if cursor is None:
            return seen
        await asyncio.sleep(0)  # let the writer in between pages


async def test_events_walk_sees_every_row_once_under_concurrent_inserts(api: Api) -> None:
    """1,000 events listed while more arrive: all 1,000 once, no duplicate, newest first."""
    existing = await store_events(api.storage, ROWS)
    stop = asyncio.Event()

    async def writer() -> int:
        written = 0
        while not stop.is_set():
            written += len(await store_events(api.storage, 5))
        return written

    writing = asyncio.create_task(writer())
    seen = await walk(api, "/events")
    stop.set()
    written = await writing

    assert written > 0
    assert len(seen) == len(set(seen))
    assert existing <= set(seen)
    assert sorted(seen, reverse=True) == seen


async def test_deliveries_walk_sees_every_row_once_under_concurrent_inserts(api: Api) -> None:
    """The same for 1,000 deliveries, with new deliveries created during the walk."""
    subscription = await add_subscription(api.storage, api.user("member"))
    event_id = next(iter(await store_events(api.storage, 1)))
    targets = [Target(subscription.id, subscription.fields.url)]
    existing = {d.id for d in await _create(api.storage, event_id, targets * ROWS)}
    stop = asyncio.Event()

    async def writer() -> int:
        written = 0
        while not stop.is_set():
            written += len(await _create(api.storage, event_id, targets * 5))
            await asyncio.sleep(0)
        return written

    writing = asyncio.create_task(writer())
    seen = await walk(api, "/deliveries")
    stop.set()
    written = await writing

    assert written > 0
    assert len(seen) == len(set(seen))
    assert existing <= set(seen)
    assert sorted(seen, reverse=True) == seen


async def _create(storage: Storage, event_id: str, targets: list[Target]) -> list[Delivery]:
    """Fresh deliveries of ``event_id`` to ``targets`` (as a replay makes them)."""
    created = await storage.deliveries.create([(event_id, targets)], first_dispatch=False)
    return created[event_id]
