"""The seam between repositories and a driver: run SQL, in or out of a transaction.

Repositories write one SQL text with ``$1``-style placeholders; each driver adapts
it (SQLite gets ``?1``). Dialect differences that SQL text cannot hide live in
``Dialect``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from storage.errors import StorageUnavailableError


class Row(Protocol):
    """A result row, readable by column name (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: str, /) -> Any:
        """The value of column ``key``."""
        ...


@dataclass(frozen=True)
class Dialect:
    """SQL that differs between backends."""

    name: str
    blob: str
    boolean: str
    skip_locked: str


SQLITE = Dialect(name="sqlite", blob="BLOB", boolean="INTEGER", skip_locked="")
POSTGRESQL = Dialect(
    name="postgresql", blob="BYTEA", boolean="BOOLEAN", skip_locked="FOR UPDATE SKIP LOCKED"
)


class WriteHealth:
    """Whether the database takes writes: the last write attempt's outcome.

    A database can answer queries and still refuse every write (SQLite's disk full,
    PostgreSQL's ``DiskFullError``): ``failure`` is the error of the last write
    attempt while no write has succeeded since, so readiness can say so
    (``Storage.ping``). Only ``StorageUnavailableError`` counts: a conflict or a bad
    value is the caller's, not the database's.

    A failure is held for ``hold_s`` only: a process that readiness took out of a load
    balancer gets no writes, so a failure held for ever could never clear once the
    disk has room again. After ``hold_s`` it is ready again until a write fails anew.
    """

    def __init__(self, hold_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._hold_s = hold_s
        self._clock = clock
        self._failure: StorageUnavailableError | None = None
        self._failed_at = 0.0

    @property
    def failure(self) -> StorageUnavailableError | None:
        """The last write's error, if it failed within ``hold_s`` and nothing succeeded since."""
        if self._failure is not None and self._clock() - self._failed_at > self._hold_s:
            self._failure = None
        return self._failure

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Note the outcome of the write attempted in the block."""
        try:
            yield
        except StorageUnavailableError as e:
            self._failure, self._failed_at = e, self._clock()
            raise
        self._failure = None


class Connection(Protocol):
    """Runs statements; inside a transaction when obtained from ``transaction()``."""

    async def execute(self, sql: str, *args: object) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run one statement once per row of arguments."""
        ...

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        """Run a query; all its rows."""
        ...

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        """Run a query; its first row or None."""
        ...


class Database(Connection, Protocol):
    """A pool of connections to one database."""

    dialect: Dialect
    write_health: WriteHealth

    async def write(self, sql: str, *args: object) -> list[Row]:
        """Run one writing statement as its own transaction; its ``RETURNING`` rows.

        One statement commits atomically on its own, so this costs a single hop to
        the database, where ``transaction()`` costs one per statement plus two.
        """
        ...

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A connection inside a transaction, committed when the block ends cleanly."""
        ...

    async def close(self) -> None:
        """Close every connection."""
        ...
