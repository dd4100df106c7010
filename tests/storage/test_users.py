"""Users and API keys contract, on both backends."""

from __future__ import annotations

import time

import pytest

from storage import ConflictError, InvalidFieldError, NotFoundError, Storage
from storage.crypto import hash_api_key
from storage.records import NewEvent, SubscriptionFields, Target


async def test_created_key_authenticates_and_is_stored_hashed(storage: Storage) -> None:
    """The key shown once logs the user in; the database holds only its hash."""
    user, api_key = await storage.users.create("Ada", "ada@example.com", "admin")

    authenticated = await storage.users.authenticate(api_key)
    rows = await storage.db.fetch("SELECT key_hash, prefix FROM api_keys")

    assert user == authenticated
    assert api_key.startswith("hg_")
    assert len(api_key) >= 46
    assert [hash_api_key(api_key)] == [bytes(row["key_hash"]) for row in rows]
    assert all(api_key != row["prefix"] for row in rows)


async def test_wrong_or_revoked_key_does_not_authenticate(storage: Storage) -> None:
    """An unknown key and a revoked key both give no user; other keys keep working."""
    user, first = await storage.users.create("Bo", "bo@example.com", "member")
    second = await storage.users.create_key(user.id)
    # Keys made in the same millisecond sort at random: find the first one by its prefix.
    first_id = next(k.id for k in await storage.users.keys(user.id) if first.startswith(k.prefix))

    await storage.users.revoke_key(user.id, first_id)

    assert await storage.users.authenticate("hg_nope") is None
    assert await storage.users.authenticate(first) is None
    assert user == await storage.users.authenticate(second)


async def test_duplicate_email_is_a_conflict(storage: Storage) -> None:
    """Two users cannot share an e-mail address, and the second is not half-written."""
    await storage.users.create("Cy", "cy@example.com", "member")

    with pytest.raises(ConflictError):
        await storage.users.create("Cy 2", "cy@example.com", "member")
    assert 1 == len((await storage.users.page()).items)
    assert 1 == len(await storage.db.fetch("SELECT id FROM api_keys"))


@pytest.mark.parametrize(
    ("name", "email", "role", "field"),
    [
        ("", "a@example.com", "member", "name"),
        ("A", "not-an-email", "member", "email"),
        ("A", "a@example.com", "root", "role"),
        ("A" * 201, "a@example.com", "member", "name"),
    ],
)
async def test_invalid_user_fields_name_the_field(
    storage: Storage, name: str, email: str, role: str, field: str
) -> None:
    """Each bad value is an InvalidFieldError naming its field."""
    with pytest.raises(InvalidFieldError) as caught:
        await storage.users.create(name, email, role)
    assert field == caught.value.field


async def test_update_and_delete(storage: Storage) -> None:
    """A role change sticks; a deleted user is gone and its key no longer works."""
    user, api_key = await storage.users.create("Di", "di@example.com", "member")

    updated = await storage.users.update(user.id, role="operator")
    await storage.users.delete(user.id)

    assert "operator" == updated.role
    assert await storage.users.authenticate(api_key) is None
    with pytest.raises(NotFoundError):
        await storage.users.get(user.id)


async def test_delete_is_refused_while_the_user_owns_live_subscriptions(storage: Storage) -> None:
    """A user with subscriptions not yet deleted cannot be deleted: a conflict saying how
    many, and the user, its key and its subscriptions stay as they were."""
    user, api_key = await storage.users.create("Ed", "ed@example.com", "member")
    for _ in range(2):
        await storage.subscriptions.create(user.id, SubscriptionFields(url="https://x.io/"))

    with pytest.raises(ConflictError) as refused:
        await storage.users.delete(user.id)

    expected = "the user owns 2 subscriptions; delete or reassign them first"
    assert expected == str(refused.value)
    assert user == await storage.users.authenticate(api_key)
    assert 2 == len((await storage.subscriptions.page(owner_id=user.id)).items)


async def test_deleting_a_user_keeps_its_deleted_subscriptions_history(storage: Storage) -> None:
    """Once its subscriptions are deleted the user can be: their deliveries stay, the
    user is gone (not listed, no key works) and its e-mail can be used again."""
    user, api_key = await storage.users.create("Fay", "fay@example.com", "member")
    sub, _ = await storage.subscriptions.create(user.id, SubscriptionFields(url="https://x.io/"))
    event = await storage.events.store(
        NewEvent("stripe", "invoice.paid", "e1", {}, b"{}", time.time_ns() // 1000)
    )
    created = await storage.deliveries.create(
        [(event.id, [Target(sub.id, sub.fields.url)])], first_dispatch=True
    )
    [delivery] = created[event.id]
    await storage.subscriptions.delete(sub.id)

    await storage.users.delete(user.id)
    again, _ = await storage.users.create("Fay", "fay@example.com", "member")
    kept = await storage.deliveries.get(delivery.id)

    assert (delivery.id, sub.id, "cancelled") == (kept.id, kept.subscription_id, kept.status)
    assert await storage.users.authenticate(api_key) is None
    assert [again.id] == [u.id for u in (await storage.users.page()).items]
    with pytest.raises(NotFoundError):
        await storage.users.get(user.id)
    with pytest.raises(NotFoundError):
        await storage.users.delete(user.id)
