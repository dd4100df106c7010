"""Shared fixtures: real SQLite files and a fresh PostgreSQL database per test run."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from storage import Storage, open_storage

SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
TABLES = (
    "attempts, deliveries, subscription_secrets, subscriptions, events, event_types, api_keys, "
    "users, attempt_rollups"
)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database created for this test run, migrated, dropped afterwards."""
    admin_url = os.environ.get(
        "HOOKGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    name = f"hookgate_test_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def migrate(url: str) -> None:
        async with open_storage(url, SECRET_KEY) as storage:
            await storage.migrate()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(admin_url, name)
    asyncio.run(migrate(url))
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage URL for each backend (the same contract runs on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hookgate.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def storage(storage_url: str) -> AsyncIterator[Storage]:
    """Migrated, empty storage on each backend."""
    async with open_storage(storage_url, SECRET_KEY) as opened:
        await opened.migrate()
        if opened.db.dialect.name == "postgresql":
            await opened.db.execute(f"TRUNCATE {TABLES} CASCADE")
        yield opened
