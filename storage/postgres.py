"""PostgreSQL driver: an asyncpg pool, for more than one machine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg

from storage.database import POSTGRESQL, Connection, Row, WriteHealth
from storage.errors import (
    ConflictError,
    SchemaNotReadyError,
    StorageError,
    StorageUnavailableError,
)

_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InsufficientResourcesError,
    asyncpg.DiskFullError,
    asyncpg.AdminShutdownError,
)


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Turn asyncpg exceptions into storage errors, once for the whole driver."""
    try:
        yield
    except asyncpg.UniqueViolationError as e:
        raise ConflictError(e.detail or str(e)) from e
    except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError) as e:
        raise SchemaNotReadyError(f"{e}; run `hookgate migrate`") from e
    except _UNAVAILABLE as e:
        raise StorageUnavailableError(f"PostgreSQL: {e}") from e
    except asyncpg.PostgresError as e:
        raise StorageError(f"PostgreSQL: {e}") from e


def _changes(status: str) -> int:
    """Rows changed, from a command tag such as ``UPDATE 3``."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class _PoolConnection:
    """Statements on one acquired connection (inside a transaction)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: object) -> int:
        with _mapped_errors():
            return _changes(await self._conn.execute(sql, *args))

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with _mapped_errors():
            await self._conn.executemany(sql, rows)

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        with _mapped_errors():
            rows: list[Row] = await self._conn.fetch(sql, *args)
            return rows

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        with _mapped_errors():
            row: Row | None = await self._conn.fetchrow(sql, *args)
            return row


class PostgresDatabase:
    """A pool of asyncpg connections."""

    dialect = POSTGRESQL

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None
        self.write_health = WriteHealth()

    async def open(self) -> None:
        """Connect the pool; ``StorageUnavailableError`` if the server cannot be reached."""
        with _mapped_errors():
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=10,
                command_timeout=30,
            )

    async def execute(self, sql: str, *args: object) -> int:
        with self.write_health.watch(), _mapped_errors():
            return _changes(await self._pool.execute(sql, *args))

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self.write_health.watch(), _mapped_errors():
            await self._pool.executemany(sql, rows)

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        with _mapped_errors():
            rows: list[Row] = await self._pool.fetch(sql, *args)
            return rows

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        with _mapped_errors():
            row: Row | None = await self._pool.fetchrow(sql, *args)
            return row

    async def write(self, sql: str, *args: object) -> list[Row]:
        with self.write_health.watch():
            return await self.fetch(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A pooled connection inside ``BEGIN … COMMIT``."""
        with self.write_health.watch(), _mapped_errors():
            async with self._pool.acquire() as conn, conn.transaction():
                yield _PoolConnection(conn)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
