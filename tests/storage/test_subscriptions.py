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
    [delivery] = await storage.deliveries.dispatch(event.id, [Target(sub.id, FIELDS.url)]) or []

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
