"""Errors raised by the storage package.

The tree::

    StorageError
    ├── InvalidStorageUrlError    storage.url cannot be used
    ├── StorageUnavailableError   the database cannot be reached or answered with I/O trouble
    ├── SchemaNotReadyError       the schema is missing or older than this code (run migrate)
    ├── NotFoundError             no row with that id (or not visible to the caller)
    ├── ConflictError             a unique value is taken (an e-mail, say)
    ├── InvalidFieldError         a value is too long or malformed; ``field`` names it
    └── UnreadableSecretError     no configured secret key can decrypt a stored secret

Driver exceptions never leave the package: each driver maps them once.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error this package raises."""


class InvalidStorageUrlError(StorageError):
    """``storage.url`` is not a SQLite or PostgreSQL URL hookgate can use."""


class StorageUnavailableError(StorageError):
    """The database is down, unreachable, or failed to commit."""


class SchemaNotReadyError(StorageError):
    """Tables are missing or at an older version: run ``hookgate migrate``."""


class NotFoundError(StorageError):
    """No such row."""


class ConflictError(StorageError):
    """A value that must be unique is already taken."""


class InvalidFieldError(StorageError):
    """A value does not fit its column; ``field`` is the record field's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnreadableSecretError(StorageError):
    """A stored secret that neither ``security.secret_key`` nor any of
    ``security.previous_secret_keys`` can decrypt; the message names the subscription
    when one is known."""
