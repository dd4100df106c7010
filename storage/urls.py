"""``storage.url``: which backend, and where."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from storage.errors import InvalidStorageUrlError


@dataclass(frozen=True)
class StorageUrl:
    """A parsed storage URL: ``kind`` is ``sqlite`` or ``postgresql``."""

    kind: str
    location: str  # the SQLite file path, or the PostgreSQL DSN


def parse_storage_url(url: str) -> StorageUrl:
    """Parse ``sqlite:///relative.db``, ``sqlite:////abs.db`` or ``postgresql://…``."""
    if url.startswith("sqlite://"):
        rest = url.removeprefix("sqlite://")
        if not rest.startswith("/") or len(rest) < 2:
            raise InvalidStorageUrlError(
                "a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        path = rest[1:]
        if path == ":memory:":
            raise InvalidStorageUrlError("an in-memory SQLite database is not durable storage")
        return StorageUrl("sqlite", path)
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as e:
            raise InvalidStorageUrlError(f"bad port in PostgreSQL URL: {e}") from e
        if not parts.hostname and "host=" not in parts.query:
            raise InvalidStorageUrlError("a PostgreSQL URL needs a host")
        del port
        return StorageUrl("postgresql", url)
    scheme = url.partition(":")[0] or "(none)"
    raise InvalidStorageUrlError(f"unsupported scheme {scheme!r}: use sqlite:/// or postgresql://")
