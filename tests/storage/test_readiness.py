"""Readiness follows the writer: a database that answers reads but refuses writes (a
full disk) is not ready until a write succeeds again."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import ConflictError, Storage, StorageUnavailableError, open_storage
from storage.database import WriteHealth
from storage.records import NewEvent
from tests.conftest import SECRET_KEY


@pytest.fixture
async def sqlite_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """Migrated storage in a SQLite file of this test's own."""
    async with open_storage(f"sqlite:///{tmp_path / 'full.db'}", SECRET_KEY) as opened:
        await opened.migrate()
        yield opened


async def fill_disk(storage: Storage) -> None:
    """Make every write that needs a new page fail as on a full disk: SQLite answers
    ``SQLITE_FULL`` ("database or disk is full") past ``max_page_count``."""
    row = await storage.db.fetchrow("PRAGMA page_count")
    assert row is not None
    await storage.db.execute(f"PRAGMA max_page_count = {int(row['page_count'])}")


async def free_disk(storage: Storage) -> None:
    """Give the database room again."""
    await storage.db.execute("PRAGMA max_page_count = 1073741823")


def big_event(provider_id: str) -> NewEvent:
    """An event whose 64 KiB body needs new pages."""
    return NewEvent("stripe", "t", provider_id, {}, b"x" * 65_536, time.time_ns() // 1000)


async def test_ping_fails_while_writes_fail_and_recovers_after_one_succeeds(
    sqlite_storage: Storage,
) -> None:
    """Disk full: the insert fails, reads still work, ping says unavailable; with room
    again the next insert succeeds and ping is fine."""
    await sqlite_storage.ping()
    await fill_disk(sqlite_storage)

    with pytest.raises(StorageUnavailableError, match="full"):
        await sqlite_storage.events.store(big_event("a"))
    with pytest.raises(StorageUnavailableError, match="last write failed"):
        await sqlite_storage.ping()
    assert [] == list((await sqlite_storage.events.page()).items)

    await free_disk(sqlite_storage)
    stored = await sqlite_storage.events.store(big_event("a"))
    await sqlite_storage.ping()
    assert [stored.id] == [event.id for event in (await sqlite_storage.events.page()).items]


async def test_a_refused_value_does_not_make_storage_unready(sqlite_storage: Storage) -> None:
    """A write refused for its own sake (a duplicate e-mail) says nothing about the disk."""
    await sqlite_storage.users.create("A", "a@x.io", "member")

    with pytest.raises(ConflictError):
        await sqlite_storage.users.create("B", "a@x.io", "member")
    await sqlite_storage.ping()


def test_a_write_failure_is_held_only_for_a_while() -> None:
    """A process taken out of rotation gets no writes to clear its failure: after
    ``hold_s`` it reports ready again (a new failing write makes it unready anew)."""
    now = [100.0]
    health = WriteHealth(hold_s=10.0, clock=lambda: now[0])
    with pytest.raises(StorageUnavailableError), health.watch():
        raise StorageUnavailableError("database or disk is full")

    held = health.failure is not None
    now[0] += 10.5
    released = health.failure is None
    with pytest.raises(StorageUnavailableError), health.watch():
        raise StorageUnavailableError("database or disk is full")

    assert (True, True) == (held, released)
    assert health.failure is not None
