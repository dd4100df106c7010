"""Subscriptions contract: owner scoping, sealed secrets, rotation — on both backends."""

from __future__ import annotations

import time

import pytest

from storage import InvalidFieldError, NotFoundError, Storage
from storage.records import NewEvent, SubscriptionFields, Target

FIELDS = SubscriptionFields(
    url="https://receiver.example.com/hooks",
    description="billing",
    sources=("stripe",),
    event_types=("invoice.*",),
    headers={"x-team": "billing"},
    rate_limit_per_s=10.0,
)


async def owner(storage: Storage, email: str) -> str:
    """A member's user id."""
    user, _ = await storage.users.create(email.split("@", maxsplit=1)[0], email, "member")
    return user.id


async def test_create_returns_secret_once_and_stores_it_sealed(storage: Storage) -> None:
    """The whsec_ secret is returned, signs deliveries, and is not in the database in clear."""
    sub, secret = await storage.subscriptions.create(await owner(storage, "a@x.io"), FIELDS)

    stored = await storage.db.fetch("SELECT sealed FROM subscription_secrets")

    assert secret.startswith("whsec_")
    assert FIELDS == sub.fields
    assert (secret,) == await storage.subscriptions.signing_secrets(sub.id)
    assert all(secret.encode() not in bytes(row["sealed"]) for row in stored)


async def test_other_owner_sees_not_found(storage: Storage) -> None:
    """Another member's subscription is not found, for reading, changing or deleting."""
    alice, bob = await owner(storage, "alice@x.io"), await owner(storage, "bob@x.io")
    sub, _ = await storage.subscriptions.create(alice, FIELDS)

    with pytest.raises(NotFoundError):
        await storage.subscriptions.get(sub.id, owner_id=bob)
    with pytest.raises(NotFoundError):
        await storage.subscriptions.update(sub.id, FIELDS, owner_id=bob)
    with pytest.raises(NotFoundError):
        await storage.subscriptions.delete(sub.id, owner_id=bob)
    assert [] == list((await storage.subscriptions.page(owner_id=bob)).items)
    assert [sub.id] == [s.id for s in (await storage.subscriptions.page(owner_id=alice)).items]


async def test_rotation_keeps_old_secret_for_grace_period(storage: Storage) -> None:
    """After rotating, both secrets sign (newest first) until the grace period ends."""
    sub, old = await storage.subscriptions.create(await owner(storage, "r@x.io"), FIELDS)

    new = await storage.subscriptions.rotate_secret(sub.id, grace_s=60)
    now = time.time_ns() // 1000

    assert (new, old) == await storage.subscriptions.signing_secrets(sub.id, now)
    assert (new,) == await storage.subscriptions.signing_secrets(sub.id, now + 61_000_000)


async def test_delete_cancels_pending_deliveries(storage: Storage) -> None:
    """Deleting a subscription cancels its pending deliveries and hides it."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "d@x.io"), FIELDS)
    event = await storage.events.store(
        NewEvent("stripe", "invoice.paid", "e1", {}, b"{}", time.time_ns() // 1000)
    )
    created = await storage.deliveries.create(
        [(event.id, [Target(sub.id, FIELDS.url)])], first_dispatch=True
    )
    [delivery] = created[event.id]

    await storage.subscriptions.delete(sub.id)

    assert "cancelled" == (await storage.deliveries.get(delivery.id)).status
    assert [] == await storage.subscriptions.enabled()


async def test_invalid_fields_write_nothing(storage: Storage) -> None:
    """A too-long URL or a non-positive rate limit is refused before any row is written."""
    owner_id = await owner(storage, "v@x.io")
    too_long = SubscriptionFields(url="https://x.io/" + "a" * 3000)
    zero_rate = SubscriptionFields(url="https://x.io/", rate_limit_per_s=0)

    with pytest.raises(InvalidFieldError):
        await storage.subscriptions.create(owner_id, too_long)
    with pytest.raises(InvalidFieldError):
        await storage.subscriptions.create(owner_id, zero_rate)
    assert [] == await storage.db.fetch("SELECT id FROM subscriptions")


async def test_static_headers_are_stored_sealed_with_lower_case_names(storage: Storage) -> None:
    """A static header's value (an API key, say) is not in the database in clear; its
    name comes back lower-case."""
    fields = SubscriptionFields(url="https://x.io/", headers={"X-Api-Key": "k-123456"})

    sub, _ = await storage.subscriptions.create(await owner(storage, "h@x.io"), fields)
    [row] = await storage.db.fetch("SELECT headers FROM subscriptions")

    assert {"x-api-key": "k-123456"} == dict(sub.fields.headers)
    assert "k-123456" not in row["headers"]
    assert "x-api-key" not in row["headers"]


async def test_header_names_differing_only_in_case_are_refused(storage: Storage) -> None:
    """``X-A`` and ``x-a`` are one header given twice: refused as ``headers``, unwritten."""
    fields = SubscriptionFields(url="https://x.io/", headers={"X-A": "1", "x-a": "2"})

    with pytest.raises(InvalidFieldError) as raised:
        await storage.subscriptions.create(await owner(storage, "c@x.io"), fields)

    assert "headers" == raised.value.field
    assert [] == await storage.db.fetch("SELECT id FROM subscriptions")


async def test_plain_json_headers_from_before_sealing_are_read(storage: Storage) -> None:
    """Rows written before static headers were sealed (plain JSON, mixed case) still
    read, with lower-case names."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "p@x.io"), FIELDS)
    await storage.db.execute(
        "UPDATE subscriptions SET headers = $1 WHERE id = $2", '{"X-Api-Key": "old"}', sub.id
    )

    assert {"x-api-key": "old"} == dict((await storage.subscriptions.get(sub.id)).fields.headers)
