"""``Storage``: one database, its repositories, opened from ``storage.url``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from core.clock import Clock, now_us
from storage.attempts import Attempts
from storage.changes import Changes
from storage.crypto import SecretBox
from storage.database import Database
from storage.deliveries import Deliveries
from storage.errors import StorageUnavailableError
from storage.events import Events
from storage.idempotency import IdempotencyKeys
from storage.jobs import Jobs
from storage.locks import Locks
from storage.migrations import check_schema, migrate
from storage.postgres import PostgresDatabase
from storage.retention import Retention
from storage.sessions import Sessions
from storage.sqlite import SqliteDatabase
from storage.stats import Stats
from storage.subscriptions import Subscriptions
from storage.urls import parse_storage_url
from storage.users import Users


class Storage:
    """The repositories of one database, all telling the time by one ``clock``."""

    def __init__(
        self,
        db: Database,
        secret_key: str,
        previous_secret_keys: Sequence[str] = (),
        *,
        clock: Clock = now_us,
    ) -> None:
        self.db = db
        self.users = Users(db, clock=clock)
        self.events = Events(db)
        self.subscriptions = Subscriptions(
            db, SecretBox(secret_key, previous_secret_keys), clock=clock
        )
        self.deliveries = Deliveries(db, clock=clock)
        self.attempts = Attempts(db, clock=clock)
        self.changes = Changes(db)
        self.jobs = Jobs(db, clock=clock)
        self.idempotency = IdempotencyKeys(db, clock=clock)
        self.locks = Locks(db, clock=clock)
        self.retention = Retention(db)
        self.stats = Stats(db, clock=clock)
        self.sessions = Sessions(db, self.users, clock=clock)

    async def migrate(self) -> list[int]:
        """Bring the schema up to date; the versions applied now."""
        return await migrate(self.db)

    async def check_schema(self) -> None:
        """Raise ``SchemaNotReadyError`` unless the schema is current."""
        await check_schema(self.db)

    async def ping(self) -> None:
        """Raise ``StorageUnavailableError`` unless the database answers and takes writes.

        A database whose last write attempt failed (a full disk, say) and has taken no
        write since is not ready: it answers ``SELECT 1`` while every event is refused.
        """
        await self.db.fetchrow("SELECT 1 AS ok")
        failure = self.db.write_health.failure
        if failure is not None:
            raise StorageUnavailableError(f"the last write failed: {failure}") from failure

    async def close(self) -> None:
        """Finish the commit in flight, then close every connection."""
        await self.events.close()
        await self.db.close()


def database_for(url: str, *, pool_size: int = 10) -> Database:
    """The driver for ``url`` (not yet connected); ``InvalidStorageUrlError`` if unusable."""
    parsed = parse_storage_url(url)
    if parsed.kind == "sqlite":
        return SqliteDatabase(parsed.location)
    return PostgresDatabase(parsed.location, max_size=pool_size)


@asynccontextmanager
async def open_storage(
    url: str,
    secret_key: str,
    *,
    previous_secret_keys: Sequence[str] = (),
    pool_size: int = 10,
) -> AsyncIterator[Storage]:
    """Connect to ``url`` for the duration of the block; secrets sealed under
    ``previous_secret_keys`` stay readable (``subscriptions.reencrypt`` moves them)."""
    db = database_for(url, pool_size=pool_size)
    await db.open()  # type: ignore[attr-defined]
    storage = Storage(db, secret_key, previous_secret_keys)
    try:
        yield storage
    finally:
        await storage.close()
