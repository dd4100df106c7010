"""SQLite driver: the embedded default, in WAL mode with fully durable commits.

The stdlib ``sqlite3`` runs on two private threads: one writer connection (all
writes, serialised by an asyncio lock) and one read-only connection, so reads never
queue behind a commit's fsync. Each call is one hop to its thread; a transaction's
statements all run on the writer. (aiosqlite would give the same with a thread per
connection too; owning the threads keeps the hop count and error mapping in view.)
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from storage.database import SQLITE, Connection, Row, WriteHealth
from storage.errors import (
    ConflictError,
    SchemaNotReadyError,
    StorageError,
    StorageUnavailableError,
)

T = TypeVar("T")
_PLACEHOLDER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=512)
def _adapt(sql: str) -> str:
    """``$1`` → ``?1``: SQLite's numbered parameters take the same positions."""
    return _PLACEHOLDER.sub(r"?\1", sql)


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Turn sqlite3 exceptions into storage errors, once for the whole driver."""
    try:
        yield
    except sqlite3.IntegrityError as e:
        raise ConflictError(str(e)) from e
    except sqlite3.OperationalError as e:
        if "no such table" in str(e) or "no such column" in str(e):
            raise SchemaNotReadyError(f"{e}; run `hookgate migrate`") from e
        raise StorageUnavailableError(f"SQLite: {e}") from e
    except sqlite3.DatabaseError as e:
        raise StorageUnavailableError(f"SQLite: {e}") from e


class _Thread:
    """One sqlite3 connection owned by one thread."""

    def __init__(self, path: str, name: str, *, read_only: bool) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._path = path
        self._read_only = read_only
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA foreign_keys = ON")
        if self._read_only:
            conn.execute("PRAGMA query_only = ON")
        else:
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL: every commit is fsynced, so a 2xx survives power loss, not only a crash.
            conn.execute("PRAGMA synchronous = FULL")
        self._conn = conn

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._conn is None:
                self._connect()
            assert self._conn is not None
            with _mapped_errors():
                return work(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self) -> None:
        def close() -> None:
            if self._conn is not None:
                self._conn.close()

        await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._executor.shutdown(wait=True)


def _changes(cursor: sqlite3.Cursor) -> int:
    return max(cursor.rowcount, 0)


class _ThreadConnection:
    """Statements on one ``_Thread``."""

    def __init__(self, thread: _Thread) -> None:
        self._thread = thread

    async def execute(self, sql: str, *args: object) -> int:
        return await self._thread.run(lambda conn: _changes(conn.execute(_adapt(sql), args)))

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        await self._thread.run(lambda conn: conn.executemany(_adapt(sql), rows))

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        rows: list[Any] = await self._thread.run(
            lambda conn: conn.execute(_adapt(sql), args).fetchall()
        )
        return rows

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        row: Any = await self._thread.run(lambda conn: conn.execute(_adapt(sql), args).fetchone())
        return row  # type: ignore[no-any-return]


class SqliteDatabase:
    """A SQLite file: one writer thread, one reader thread."""

    dialect = SQLITE

    def __init__(self, path: str) -> None:
        self._path = path
        self._writer = _Thread(path, "sqlite-writer", read_only=False)
        self._reader = _Thread(path, "sqlite-reader", read_only=True)
        self._write_lock = asyncio.Lock()
        self._reads = _ThreadConnection(self._reader)
        self._writes = _ThreadConnection(self._writer)
        self.write_health = WriteHealth()

    async def open(self) -> None:
        """Create the file's folder if needed and check the file opens."""
        folder = Path(self._path).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageUnavailableError(f"cannot create {folder}: {e.strerror}") from e
        await self._writer.run(lambda conn: conn.execute("SELECT 1").fetchone())
        await self._reader.run(lambda conn: conn.execute("SELECT 1").fetchone())

    async def execute(self, sql: str, *args: object) -> int:
        async with self._write_lock:
            with self.write_health.watch():
                return await self._writes.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        async with self._write_lock:
            with self.write_health.watch():
                await self._writes.executemany(sql, rows)

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        return await self._reads.fetch(sql, *args)

    async def write(self, sql: str, *args: object) -> list[Row]:
        async with self._write_lock:
            with self.write_health.watch():
                return await self._writes.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        return await self._reads.fetchrow(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """``BEGIN IMMEDIATE`` on the writer: the write lock is taken up front."""
        async with self._write_lock:
            with self.write_health.watch():
                await self._writes.execute("BEGIN IMMEDIATE")
                try:
                    yield self._writes
                except BaseException:
                    await self._rollback()
                    raise
                await self._writes.execute("COMMIT")

    async def _rollback(self) -> None:
        try:
            await self._writes.execute("ROLLBACK")
        except StorageError:
            # SQLite may already have rolled back (e.g. after SQLITE_FULL); the original
            # error is the one worth reporting.
            return

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()
