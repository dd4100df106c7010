"""The ``console_sessions`` table: who is signed in to the operator console.

A session id is 32 random bytes handed to the browser in a cookie; only its SHA-256 is
stored, so the table alone cannot sign anyone in. A session belongs to the API key it
was opened with: a session whose key was revoked, whose user was deleted (which
revokes every key, ``Users.delete``) or whose time is up is not found, so any gateway
process serving any request sees the same answer.
"""

from __future__ import annotations

import hashlib
import secrets

from core.clock import SECOND_US, Clock, now_us
from storage.crypto import hash_api_key
from storage.database import Database
from storage.records import User
from storage.users import Users

SESSION_TTL_S = 12 * 3600
# The console lets a session outlive no key: both must be live when it is read.
_LIVE = "k.revoked_at IS NULL AND u.deleted_at IS NULL"


def hash_session_id(session_id: str) -> bytes:
    """The stored form of a session id."""
    return hashlib.sha256(session_id.encode()).digest()


class Sessions:
    """Console sessions, opened with an API key and read back as its user."""

    def __init__(
        self, db: Database, users: Users, *, clock: Clock = now_us, ttl_s: int = SESSION_TTL_S
    ) -> None:
        self._db = db
        self._users = users
        self._clock = clock
        self._ttl_us = ttl_s * SECOND_US

    async def start(self, api_key: str) -> str | None:
        """A new session id for the holder of ``api_key``; None if it is not a live key.

        The holder's expired sessions are removed on the way, so the table stays small.
        """
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        async with self._db.transaction() as tx:
            added = await tx.execute(
                "INSERT INTO console_sessions (id_hash, user_id, key_id, created_at, expires_at) "
                "SELECT $1, k.user_id, k.id, $2, $3 FROM api_keys k "
                f"JOIN users u ON u.id = k.user_id WHERE k.key_hash = $4 AND {_LIVE}",
                hash_session_id(session_id),
                now,
                now + self._ttl_us,
                hash_api_key(api_key),
            )
            if not added:
                return None
            await tx.execute(
                "DELETE FROM console_sessions WHERE expires_at <= $1 AND user_id = "
                "(SELECT user_id FROM console_sessions WHERE id_hash = $2)",
                now,
                hash_session_id(session_id),
            )
        return session_id

    async def user(self, session_id: str) -> User | None:
        """The user signed in as ``session_id``, or None if the session is over (ended,
        expired, its key revoked or its user deleted)."""
        row = await self._db.fetchrow(
            "SELECT s.user_id FROM console_sessions s "
            "JOIN api_keys k ON k.id = s.key_id JOIN users u ON u.id = s.user_id "
            f"WHERE s.id_hash = $1 AND s.expires_at > $2 AND {_LIVE}",
            hash_session_id(session_id),
            self._clock(),
        )
        return None if row is None else await self._users.get(row["user_id"])

    async def end(self, session_id: str) -> None:
        """End the session (signing out); nothing happens if it is already over."""
        await self._db.execute(
            "DELETE FROM console_sessions WHERE id_hash = $1", hash_session_id(session_id)
        )
