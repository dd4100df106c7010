"""Rotating ``security.secret_key``: previous keys still read, ``reencrypt`` moves
every sealed value under the current key — on both backends (SPEC §14)."""

from __future__ import annotations

import pytest

from storage import Storage, UnreadableSecretError, open_storage
from storage.records import SubscriptionFields
from tests.conftest import SECRET_KEY as KEY_A

KEY_B = "the-next-secret-key-that-is-long-enough-9876543210"
FIELDS = SubscriptionFields(url="https://receiver.example.com/hooks", headers={"x-api-key": "k1"})


async def seed(storage: Storage) -> dict[str, tuple[tuple[str, ...], dict[str, str]]]:
    """Two subscriptions sealed under the fixture's key (one rotated, so with two
    secrets; one with headers from before sealing); each one's secrets and headers."""
    user, _ = await storage.users.create("Kay", "kay@example.com", "member")
    first, _ = await storage.subscriptions.create(user.id, FIELDS)
    await storage.subscriptions.rotate_secret(first.id, grace_s=3600)
    second, _ = await storage.subscriptions.create(user.id, FIELDS)
    await storage.db.execute(
        "UPDATE subscriptions SET headers = $1 WHERE id = $2", '{"x-legacy": "v"}', second.id
    )
    return {sub_id: await read(storage, sub_id) for sub_id in (first.id, second.id)}


async def read(storage: Storage, sub_id: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """A subscription's signing secrets and static headers, decrypted."""
    headers = dict((await storage.subscriptions.get(sub_id)).fields.headers)
    return await storage.subscriptions.signing_secrets(sub_id), headers


async def test_reencrypt_moves_everything_under_the_new_key(
    storage: Storage, storage_url: str
) -> None:
    """Under key B with A as previous, everything reads; after ``reencrypt`` (in batches
    smaller than the data) B alone reads everything, and a second run rewrites nothing."""
    before = await seed(storage)

    async with open_storage(storage_url, KEY_B, previous_secret_keys=[KEY_A]) as rotating:
        during = {sub_id: await read(rotating, sub_id) for sub_id in before}
        rewritten = await rotating.subscriptions.reencrypt(batch_size=2)
    async with open_storage(storage_url, KEY_B) as rotated:
        after = {sub_id: await read(rotated, sub_id) for sub_id in before}
        again = await rotated.subscriptions.reencrypt()

    # 3 signing secrets, 2 header maps (one of them sealed for the first time).
    assert (before, before, 5, 0) == (during, after, rewritten, again)


async def test_a_secret_no_key_reads_is_an_error_naming_the_subscription(
    storage: Storage, storage_url: str
) -> None:
    """Under key B without A, ``reencrypt`` and signing both refuse, naming the
    subscription, rather than skip it."""
    sub_id = next(iter(await seed(storage)))

    async with open_storage(storage_url, KEY_B) as wrong:
        with pytest.raises(UnreadableSecretError) as reencrypting:
            await wrong.subscriptions.reencrypt()
        with pytest.raises(UnreadableSecretError) as signing:
            await wrong.subscriptions.signing_secrets(sub_id)

    expected = f"subscription {sub_id} has a secret no configured key can read"
    assert (expected, expected) == (str(reencrypting.value), str(signing.value))
