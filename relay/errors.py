"""Errors raised by the relay package.

The tree::

    RelayError
    └── HandlerConfigError   a configured handler cannot be imported or is not async

A failed delivery attempt is not an error here: it is an outcome, recorded in storage.
A refused address is ``policy.errors.SsrfBlockedError`` (the rule lives in ``policy``).
"""

from __future__ import annotations


class RelayError(Exception):
    """Base of every error this package raises."""


class HandlerConfigError(RelayError):
    """``handlers[index].call`` does not name an importable async function."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"handlers[{index}].call: {message}")
        self.key = f"handlers[{index}].call"
        self.message = message
