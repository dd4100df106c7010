"""The subscriptions revision moves with every change event matching sees, on both backends."""

from __future__ import annotations

import dataclasses

import pytest

from storage import NotFoundError, Storage
from storage.records import SubscriptionFields

FIELDS = SubscriptionFields(url="https://receiver.example.com/hooks", event_types=("a.*",))


async def new_subscription(storage: Storage) -> str:
    """A subscription of a fresh member; its id."""
    user, _ = await storage.users.create("Rev", "rev@example.com", "member")
    sub, _ = await storage.subscriptions.create(user.id, FIELDS)
    return sub.id


async def test_create_moves_the_revision(storage: Storage) -> None:
    """A new subscription is a new revision."""
    before = await storage.subscriptions.revision()

    await new_subscription(storage)

    assert before + 1 == await storage.subscriptions.revision()


async def test_update_moves_the_revision(storage: Storage) -> None:
    """Changing what a subscription matches is a new revision."""
    sub_id = await new_subscription(storage)
    before = await storage.subscriptions.revision()

    await storage.subscriptions.update(sub_id, dataclasses.replace(FIELDS, event_types=("b.*",)))

    assert before + 1 == await storage.subscriptions.revision()


async def test_delete_moves_the_revision(storage: Storage) -> None:
    """Deleting a subscription is a new revision."""
    sub_id = await new_subscription(storage)
    before = await storage.subscriptions.revision()

    await storage.subscriptions.delete(sub_id)

    assert before + 1 == await storage.subscriptions.revision()


async def test_disable_and_reenable_move_the_revision(storage: Storage) -> None:
    """The relay disabling a subscription, and its owner re-enabling it, are new revisions."""
    sub_id = await new_subscription(storage)
    start = await storage.subscriptions.revision()

    await storage.subscriptions.disable(sub_id, "endpoint failing")
    disabled = await storage.subscriptions.revision()
    await storage.subscriptions.update(sub_id, FIELDS)
    reenabled = await storage.subscriptions.revision()

    assert (start + 1, start + 2) == (disabled, reenabled)


async def test_writes_that_change_nothing_keep_the_revision(storage: Storage) -> None:
    """Disabling twice, or updating a missing subscription, does not move the revision."""
    sub_id = await new_subscription(storage)
    await storage.subscriptions.disable(sub_id, "endpoint failing")
    before = await storage.subscriptions.revision()

    await storage.subscriptions.disable(sub_id, "endpoint failing")
    with pytest.raises(NotFoundError):
        await storage.subscriptions.update("sub_missing", FIELDS)

    assert before == await storage.subscriptions.revision()
