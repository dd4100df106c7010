"""The ``users`` and ``api_keys`` tables: who may call the API, with which role.

Deleting a user leaves a tombstone (``deleted_at`` set, keys revoked, e-mail freed)
rather than removing the row: its deleted subscriptions keep their owner, and with it
their delivery history, which the ``ON DELETE CASCADE`` of ``subscriptions.owner_id``
would otherwise erase. A user who still owns live subscriptions cannot be deleted.
Tombstones are never found, listed or authenticated.
"""

from __future__ import annotations

from core.clock import Clock, now_us
from core.ids import new_id
from storage.crypto import hash_api_key, new_api_key
from storage.database import Connection, Database, Row
from storage.errors import ConflictError, InvalidFieldError, NotFoundError
from storage.fields import bounded
from storage.query import Where, fetch_page
from storage.records import ROLES, ApiKey, Page, Role, User
from storage.subscriptions import count_live

_COLUMNS = "id, name, email, role, created_at, updated_at"


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        role=row["role"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _checked(name: str, email: str, role: str) -> tuple[str, str, Role]:
    if not name.strip():
        raise InvalidFieldError("name", "must not be empty")
    if "@" not in email.strip("@"):
        raise InvalidFieldError("email", "must be an e-mail address")
    if role not in ROLES:
        raise InvalidFieldError("role", f"must be one of {', '.join(ROLES)}")
    return bounded("name", name), bounded("email", email), role


class Users:
    """Users and their hashed API keys."""

    def __init__(self, db: Database, *, clock: Clock = now_us) -> None:
        self._db = db
        self._clock = clock

    async def create(self, name: str, email: str, role: str) -> tuple[User, str]:
        """A new user and its first API key (the only time the key is seen)."""
        name, email, checked_role = _checked(name, email, role)
        now = self._clock()
        user = User(new_id("usr"), name, email, checked_role, now, now)
        async with self._db.transaction() as tx:
            await self._insert(tx, user)
            api_key = await self._insert_key(tx, user.id, now)
        return user, api_key

    @staticmethod
    async def _insert(tx: Connection, user: User) -> None:
        try:
            await tx.execute(
                f"INSERT INTO users ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
                user.id,
                user.name,
                user.email,
                user.role,
                user.created_at,
                user.updated_at,
            )
        except ConflictError as e:
            raise ConflictError(f"a user with e-mail {user.email} exists") from e

    @staticmethod
    async def _insert_key(tx: Connection, user_id: str, now: int) -> str:
        api_key = new_api_key()
        await tx.execute(
            "INSERT INTO api_keys (id, user_id, key_hash, prefix, created_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            new_id("key"),
            user_id,
            hash_api_key(api_key),
            api_key[:10],
            now,
        )
        return api_key

    async def get(self, user_id: str) -> User:
        """The user; ``NotFoundError`` if there is none."""
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL", user_id
        )
        if row is None:
            raise NotFoundError(f"no user {user_id}")
        return _user(row)

    async def page(self, *, limit: int | None = None, cursor: str | None = None) -> Page[User]:
        """Users, newest first (deleted ones left out)."""
        where = Where()
        where.clauses.append("deleted_at IS NULL")
        return await fetch_page(
            self._db,
            f"SELECT {_COLUMNS} FROM users",
            where,
            id_column="id",
            limit=limit,
            cursor=cursor,
            convert=_user,
        )

    async def update(
        self,
        user_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        role: str | None = None,
    ) -> User:
        """Change the given fields; ``NotFoundError`` if there is no such user."""
        current = await self.get(user_id)
        name, email, checked_role = _checked(
            current.name if name is None else name,
            current.email if email is None else email,
            current.role if role is None else role,
        )
        try:
            changed = await self._db.execute(
                "UPDATE users SET name = $1, email = $2, role = $3, updated_at = $4 "
                "WHERE id = $5 AND deleted_at IS NULL",
                name,
                email,
                checked_role,
                self._clock(),
                user_id,
            )
        except ConflictError as e:
            raise ConflictError(f"a user with e-mail {email} exists") from e
        if not changed:
            raise NotFoundError(f"no user {user_id}")
        return await self.get(user_id)

    async def delete(self, user_id: str) -> None:
        """Delete the user: its keys stop working and its e-mail is free again.

        ``ConflictError`` while it owns live subscriptions (delete them first: that
        cancels their pending deliveries and keeps their history, which stays theirs).
        """
        now = self._clock()
        async with self._db.transaction() as tx:
            # Tombstone first: the row lock it takes makes a concurrent delete wait.
            changed = await tx.execute(
                "UPDATE users SET deleted_at = $1, updated_at = $1, email = $2 "
                "WHERE id = $3 AND deleted_at IS NULL",
                now,
                f"{user_id}@deleted.invalid",
                user_id,
            )
            if not changed:
                raise NotFoundError(f"no user {user_id}")
            owned = await count_live(tx, user_id)
            if owned:
                plural = "subscription" if owned == 1 else "subscriptions"
                raise ConflictError(
                    f"the user owns {owned} {plural}; delete or reassign them first"
                )
            await tx.execute(
                "UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                now,
                user_id,
            )

    async def create_key(self, user_id: str) -> str:
        """A new API key for the user (shown once; earlier keys stay valid)."""
        async with self._db.transaction() as tx:
            live = await tx.fetchrow(
                "SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL", user_id
            )
            if live is None:
                raise NotFoundError(f"no user {user_id}")
            return await self._insert_key(tx, user_id, self._clock())

    async def keys(self, user_id: str) -> list[ApiKey]:
        """The user's keys, newest first (prefixes only)."""
        rows = await self._db.fetch(
            "SELECT id, user_id, prefix, created_at, revoked_at FROM api_keys "
            "WHERE user_id = $1 ORDER BY id DESC",
            user_id,
        )
        return [
            ApiKey(r["id"], r["user_id"], r["prefix"], r["created_at"], r["revoked_at"])
            for r in rows
        ]

    async def revoke_key(self, user_id: str, key_id: str) -> None:
        """Stop accepting one of the user's keys."""
        changed = await self._db.execute(
            "UPDATE api_keys SET revoked_at = $1 "
            "WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
            self._clock(),
            key_id,
            user_id,
        )
        if not changed:
            raise NotFoundError(f"no active key {key_id}")

    async def authenticate(self, api_key: str) -> User | None:
        """The user holding ``api_key`` if it is a live key, else None."""
        row = await self._db.fetchrow(
            f"SELECT {', '.join('u.' + c.strip() for c in _COLUMNS.split(','))} "
            "FROM api_keys k JOIN users u ON u.id = k.user_id "
            "WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.deleted_at IS NULL",
            hash_api_key(api_key),
        )
        return None if row is None else _user(row)
