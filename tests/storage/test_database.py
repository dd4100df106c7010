"""Opening storage: URLs, migrations, unreachable servers, an unmigrated schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import (
    InvalidStorageUrlError,
    SchemaNotReadyError,
    StorageUnavailableError,
    open_storage,
)
from storage.migrations import LATEST
from storage.urls import parse_storage_url
from tests.conftest import SECRET_KEY


@pytest.mark.parametrize(
    ("url", "kind", "location"),
    [
        ("sqlite:///./hookgate.db", "sqlite", "./hookgate.db"),
        ("sqlite:////var/lib/hookgate/db.sqlite", "sqlite", "/var/lib/hookgate/db.sqlite"),
        ("postgresql://u:p@db:5432/hg", "postgresql", "postgresql://u:p@db:5432/hg"),
    ],
)
def test_storage_urls_parse(url: str, kind: str, location: str) -> None:
    """SPEC's URL forms give the backend and its location."""
    parsed = parse_storage_url(url)
    assert (kind, location) == (parsed.kind, parsed.location)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://db/hg",
        "sqlite://relative.db",
        "sqlite:///:memory:",
        "postgresql://h:99999999/db",
        "",
    ],
)
def test_bad_storage_urls_are_typed_errors(url: str) -> None:
    """Unsupported schemes and malformed URLs raise InvalidStorageUrlError, not a traceback."""
    with pytest.raises(InvalidStorageUrlError):
        parse_storage_url(url)


async def test_migrate_is_idempotent_and_schema_is_checked(tmp_path: Path) -> None:
    """Before migrating the schema is reported not ready; migrating twice is harmless."""
    async with open_storage(f"sqlite:///{tmp_path / 'new.db'}", SECRET_KEY) as storage:
        with pytest.raises(SchemaNotReadyError):
            await storage.check_schema()
        first = await storage.migrate()
        second = await storage.migrate()
        await storage.check_schema()
    assert (first, second) == (list(range(1, LATEST + 1)), [])


async def test_migrate_twice_on_postgres_applies_nothing(postgres_url: str) -> None:
    """The PostgreSQL schema made for this run is current, and migrating again changes nothing."""
    async with open_storage(postgres_url, SECRET_KEY) as storage:
        assert [] == await storage.migrate()
        await storage.check_schema()


async def test_unreachable_postgres_is_unavailable() -> None:
    """A server that does not answer is a StorageUnavailableError (the gateway's 503)."""
    with pytest.raises(StorageUnavailableError):
        async with open_storage("postgresql://postgres@127.0.0.1:1/none", SECRET_KEY):
            pass


async def test_unwritable_sqlite_path_is_unavailable(tmp_path: Path) -> None:
    """A SQLite file whose folder cannot be created is a StorageUnavailableError."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageUnavailableError):
        async with open_storage(f"sqlite:///{blocker}/sub/db.sqlite", SECRET_KEY):
            pass
