"""The seam between repositories and a driver: run SQL, in or out of a transaction.

Repositories write one SQL text with ``$1``-style placeholders; each driver adapts
it (SQLite gets ``?1``). Dialect differences that SQL text cannot hide live in
``Dialect``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol


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
