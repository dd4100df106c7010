"""Events contract: exact bytes, deduplication, group commit, pagination — on both backends."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from storage import InvalidFieldError, NotFoundError, Storage, open_storage
from storage.records import NewEvent
from tests.conftest import SECRET_KEY


def new_event(provider_id: str, *, source: str = "stripe", type_: str = "invoice.paid") -> NewEvent:
    """An incoming event with awkward bytes (non-UTF-8, CRLF) to prove they survive as is."""
    return NewEvent(
        source=source,
        type=type_,
        provider_event_id=provider_id,
        headers={"content-type": "application/json", "stripe-signature": "t=1,v1=ab"},
        body=b'{"id": "' + provider_id.encode() + b'"}\r\n\xff\x00',
        received_at=time.time_ns() // 1000,
    )


async def test_stored_event_reads_back_exactly(storage: Storage) -> None:
    """The body bytes, headers, source, type and provider id come back unchanged."""
    new = new_event("evt_A")

    stored = await storage.events.store(new)
    event = await storage.events.get(stored.id)

    assert (new.body, dict(new.headers), "stripe", "invoice.paid", "evt_A", new.received_at) == (
        event.body,
        dict(event.headers),
        event.source,
        event.type,
        event.provider_event_id,
        event.received_at,
    )
    assert stored.id.startswith("evt_")
    assert stored.duplicate is False


async def test_repeat_answers_first_id_and_stores_nothing(storage: Storage) -> None:
    """A second event with the same (source, provider id) is a duplicate of the first."""
    first = await storage.events.store(new_event("evt_B"))
    again = await storage.events.store(new_event("evt_B"))
    other_source = await storage.events.store(new_event("evt_B", source="github"))

    assert (first.id, True) == (again.id, again.duplicate)
    assert other_source.duplicate is False
    assert 2 == len((await storage.events.page()).items)


async def test_concurrent_repeats_in_one_batch_have_one_winner(storage: Storage) -> None:
    """Many concurrent copies of one event: exactly one is new, all name its id."""
    results = await asyncio.gather(*(storage.events.store(new_event("evt_C")) for _ in range(20)))

    winners = [r for r in results if not r.duplicate]
    assert 1 == len(winners)
    assert {winners[0].id} == {r.id for r in results}


async def test_every_acknowledged_event_is_durable_after_reopen(storage_url: str) -> None:
    """200 concurrent writers all get an id, and every id is there after reopening."""
    async with open_storage(storage_url, SECRET_KEY) as storage:
        await storage.migrate()
        results = await asyncio.gather(
            *(storage.events.store(new_event(f"durable-{i}")) for i in range(200))
        )
    async with open_storage(storage_url, SECRET_KEY) as reopened:
        found = [await reopened.events.get(r.id) for r in results]
    assert 200 == len({event.id for event in found})


async def test_too_long_field_fails_alone_and_writes_nothing(storage: Storage) -> None:
    """A too-long provider id is a typed error for its caller; its batch-mates are stored."""
    good = [storage.events.store(new_event(f"ok-{i}")) for i in range(5)]
    bad = storage.events.store(new_event("x" * 300))

    results = await asyncio.gather(*good, bad, return_exceptions=True)

    assert isinstance(results[-1], InvalidFieldError)
    assert "provider_event_id" == results[-1].field
    assert 5 == len((await storage.events.page()).items)


async def test_pages_walk_every_event_once_with_filters(storage: Storage) -> None:
    """Keyset pages of 7 cover all 30 events once, newest first; filters narrow them."""
    for i in range(30):
        await storage.events.store(
            new_event(f"p-{i}", source="stripe" if i % 2 else "github", type_=f"t.{i % 3}")
        )
    seen, cursor = [], None
    while True:
        page = await storage.events.page(limit=7, cursor=cursor)
        seen.extend(event.id for event in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert 30 == len(set(seen))
    assert sorted(seen, reverse=True) == seen
    stripe_t0 = await storage.events.page(source="stripe", event_type="t.0", limit=250)
    expected = {f"p-{i}" for i in range(30) if i % 2 and i % 3 == 0}
    assert expected == {event.provider_event_id for event in stripe_t0.items}
    assert all(event.body is None for event in stripe_t0.items)


async def test_bad_cursor_is_a_field_error(storage: Storage) -> None:
    """A cursor that this API did not make is refused as invalid input."""
    with pytest.raises(InvalidFieldError):
        await storage.events.page(cursor="!!not-a-cursor")


async def test_unknown_event_is_not_found(storage: Storage) -> None:
    """Reading an id that does not exist is a NotFoundError."""
    with pytest.raises(NotFoundError):
        await storage.events.get("evt_01JD0Q6Y1M9ZC8X4W7S5T3R2QP")


async def test_undispatched_lists_events_until_dispatched(storage: Storage) -> None:
    """The sweeper sees an event until its deliveries are created, then never again."""
    stored = await storage.events.store(new_event("evt_U"))
    later = time.time_ns() // 1000 + 1

    plan = [(stored.id, [])]

    assert [stored.id] == await storage.events.undispatched(later)
    assert {stored.id: []} == await storage.deliveries.create(plan, first_dispatch=True)
    assert [] == await storage.events.undispatched(later)
    assert {} == await storage.deliveries.create(plan, first_dispatch=True)


async def test_latin1_headers_give_back_the_exact_bytes(storage: Storage) -> None:
    """A header whose bytes were not UTF-8, stored decoded as ISO-8859-1, reads back
    with its name listed, so encoding it as Latin-1 gives the bytes received."""
    received = b"caf\xe9, 10.0.0.\xff"
    new = replace(
        new_event("evt_L"),
        headers={"content-type": "application/json", "x-forwarded-for": received.decode("latin-1")},
        latin1_headers=("x-forwarded-for",),
    )

    event = await storage.events.get((await storage.events.store(new)).id)
    listed = (await storage.events.page()).items[0]

    assert received == event.headers["x-forwarded-for"].encode("latin-1")
    assert (("x-forwarded-for",), ("x-forwarded-for",)) == (
        event.latin1_headers,
        listed.latin1_headers,
    )
    assert (
        ()
        == (
            await storage.events.get((await storage.events.store(new_event("e"))).id)
        ).latin1_headers
    )


async def test_get_many_reads_the_events_that_exist(storage: Storage) -> None:
    """Several events in one read, with their bodies; unknown ids are left out."""
    stored = [await storage.events.store(new_event(f"evt_M{n}")) for n in range(3)]

    found = await storage.events.get_many([s.id for s in stored] + ["evt_missing"])

    assert sorted(s.id for s in stored) == [event.id for event in found]
    assert [new_event(f"evt_M{n}").body for n in range(3)] == [
        {e.id: e.body for e in found}[s.id] for s in stored
    ]
