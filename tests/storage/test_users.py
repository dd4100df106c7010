"""Users and API keys contract, on both backends."""

from __future__ import annotations

import pytest

from storage import ConflictError, InvalidFieldError, NotFoundError, Storage
from storage.crypto import hash_api_key


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
