"""List filters that the API relies on for fast pages, on both backends: time ranges
(which also bound ids) and one owner's deliveries (merged per subscription on
PostgreSQL, joined on SQLite) give exactly the rows a plain filter would."""

from __future__ import annotations

import time

from storage import Storage
from storage.records import NewEvent, SubscriptionFields, Target

SECOND = 1_000_000


async def event_at(storage: Storage, received_at: int, provider_id: str) -> str:
    """An event received at ``received_at``."""
    new = NewEvent("stripe", "invoice.paid", provider_id, {}, b"{}", received_at)
    return (await storage.events.store(new)).id


async def test_event_time_range_is_exact_at_its_bounds(storage: Storage) -> None:
    """``since`` is inclusive and ``until`` exclusive, to the microsecond (events in one
    millisecond share its id prefix, so the bounds cannot come from ids alone)."""
    base = time.time_ns() // 1000 - 3600 * SECOND
    ids = {
        offset: await event_at(storage, base + offset, f"e{offset}")
        for offset in (-1, 0, 1, SECOND - 1, SECOND, SECOND + 1)
    }

    page = await storage.events.page(since=base, until=base + SECOND)

    expected = sorted((ids[0], ids[1], ids[SECOND - 1]), reverse=True)
    assert expected == [event.id for event in page.items]


async def test_delivery_time_range_tolerates_ids_made_after_their_time(storage: Storage) -> None:
    """A delivery's id is made a moment after its ``created_at``; the range still finds
    it by ``created_at``, however the id's millisecond falls."""
    owner, _ = await storage.users.create("T", "t@example.com", "member")
    sub, _ = await storage.subscriptions.create(
        owner.id, SubscriptionFields(url="https://x.example")
    )
    event_id = await event_at(storage, time.time_ns() // 1000, "e")
    created = await storage.deliveries.create(
        [(event_id, [Target(sub.id, "u")] * 2)], first_dispatch=False
    )
    [early, late] = created[event_id]
    # As if ``early`` took its time two seconds before its id was made.
    await storage.db.execute(
        "UPDATE deliveries SET created_at = created_at - $1 WHERE id = $2", 2 * SECOND, early.id
    )
    cut = late.created_at - SECOND

    before = await storage.deliveries.page(until=cut)
    after = await storage.deliveries.page(since=cut)

    assert [early.id] == [d.id for d in before.items]
    assert [late.id] == [d.id for d in after.items]


async def test_owner_pages_walk_every_subscription_newest_first(storage: Storage) -> None:
    """An owner's deliveries over several subscriptions (one deleted) page through in id
    order with filters; other owners' and handlers' deliveries never appear."""
    owner, _ = await storage.users.create("Mine", "mine@example.com", "member")
    other, _ = await storage.users.create("Other", "other@example.com", "member")
    subs = [
        (await storage.subscriptions.create(owner.id, SubscriptionFields(url=f"https://{n}.x")))[0]
        for n in range(3)
    ]
    theirs, _ = await storage.subscriptions.create(other.id, SubscriptionFields(url="https://o.x"))
    mine = []
    for n in range(4):
        event_id = await event_at(storage, time.time_ns() // 1000, f"e{n}")
        targets = [Target(s.id, s.fields.url) for s in subs]
        targets += [Target(theirs.id, "https://o.x"), Target(None, "handler:audit")]
        created = await storage.deliveries.create([(event_id, targets)], first_dispatch=False)
        mine += [d.id for d in created[event_id] if d.subscription_id in {s.id for s in subs}]
    await storage.subscriptions.delete(subs[2].id)

    walked, cursor = [], None
    while True:
        page = await storage.deliveries.page(owner_id=owner.id, limit=5, cursor=cursor)
        walked += [d.id for d in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    cancelled = await storage.deliveries.page(owner_id=owner.id, status="cancelled", limit=250)
    one_sub = await storage.deliveries.page(owner_id=owner.id, subscription_id=subs[0].id)
    not_theirs = await storage.deliveries.page(owner_id=other.id, subscription_id=subs[0].id)

    assert sorted(mine, reverse=True) == walked
    assert 4 == len(cancelled.items)
    assert {subs[2].id} == {d.subscription_id for d in cancelled.items}
    assert 4 == len(one_sub.items)
    assert [] == list(not_theirs.items)
