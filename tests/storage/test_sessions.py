"""Console sessions, on both backends: opened with a live key, ended by sign-out, key
revocation, user deletion or time."""

from __future__ import annotations

from storage import Storage
from storage.sessions import Sessions, hash_session_id


async def test_a_live_key_opens_a_session_that_reads_back_as_its_user(storage: Storage) -> None:
    """The session id gives back the user; the stored row holds only the id's hash."""
    user, key = await storage.users.create("Ada", "ada@example.com", "operator")
    session_id = await storage.sessions.start(key)
    assert session_id is not None
    assert user == await storage.sessions.user(session_id)
    rows = await storage.db.fetch("SELECT id_hash FROM console_sessions")
    assert [hash_session_id(session_id)] == [bytes(row["id_hash"]) for row in rows]


async def test_an_unknown_key_opens_nothing(storage: Storage) -> None:
    """A key nobody holds gets no session."""
    assert None is await storage.sessions.start("hg_not-a-key")


async def test_signing_out_ends_the_session(storage: Storage) -> None:
    """After ``end`` the id is no one's."""
    _, key = await storage.users.create("Ada", "ada@example.com", "member")
    session_id = await storage.sessions.start(key)
    assert session_id is not None
    await storage.sessions.end(session_id)
    assert None is await storage.sessions.user(session_id)


async def test_revoking_the_key_or_deleting_the_user_ends_its_sessions(storage: Storage) -> None:
    """A session lives no longer than the key it was opened with, or its user."""
    user, key = await storage.users.create("Ada", "ada@example.com", "member")
    second = await storage.users.create_key(user.id)
    by_first = await storage.sessions.start(key)
    by_second = await storage.sessions.start(second)
    assert by_first is not None
    assert by_second is not None
    [_, first_key] = await storage.users.keys(user.id)
    await storage.users.revoke_key(user.id, first_key.id)
    assert (None, user) == (
        await storage.sessions.user(by_first),
        await storage.sessions.user(by_second),
    )
    await storage.users.delete(user.id)
    assert None is await storage.sessions.user(by_second)


async def test_a_session_ends_when_its_time_is_up(storage: Storage) -> None:
    """Past its lifetime a session is not found (a moved clock, no waiting)."""
    _, key = await storage.users.create("Ada", "ada@example.com", "member")
    now = [1_000_000_000_000_000]
    sessions = Sessions(storage.db, storage.users, clock=lambda: now[0], ttl_s=60)
    session_id = await sessions.start(key)
    assert session_id is not None
    now[0] += 59_000_000
    assert await sessions.user(session_id) is not None
    now[0] += 2_000_000
    assert None is await sessions.user(session_id)
