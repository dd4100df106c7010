"""Storage: the only package that speaks SQL. SQLite (embedded) or PostgreSQL.

Public surface: ``open_storage``/``Storage``, the records in ``storage.records``, the
errors in ``storage.errors``.
"""

from storage.errors import (
    ConflictError,
    InvalidFieldError,
    InvalidStorageUrlError,
    NotFoundError,
    SchemaNotReadyError,
    StorageError,
    StorageUnavailableError,
    UnreadableSecretError,
)
from storage.store import Storage, open_storage

__all__ = [
    "ConflictError",
    "InvalidFieldError",
    "InvalidStorageUrlError",
    "NotFoundError",
    "SchemaNotReadyError",
    "Storage",
    "StorageError",
    "StorageUnavailableError",
    "UnreadableSecretError",
    "open_storage",
]
