"""Errors raised by the policy package.

The tree::

    PolicyError
    ├── SsrfBlockedError     a delivery URL may not be reached (scheme or address refused)
    └── FilterError          a payload filter is not valid; ``path`` names the bad part
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base of every error this package raises."""


class SsrfBlockedError(PolicyError):
    """The URL is not http(s), or its host is (or resolves to) a refused address.

    ``allowable`` says whether ``security.allowed_target_networks`` could let the address
    through (a private or loopback address could; a bad scheme or a metadata endpoint
    never), so messages can name the setting only where it helps.
    """

    def __init__(self, message: str, *, allowable: bool = False) -> None:
        super().__init__(message)
        self.allowable = allowable


class FilterError(PolicyError):
    """A payload filter is not valid: ``path`` names the bad part as the API shows it
    (``filter.body.data.amount.$gtx``) and ``message`` says what is wrong with it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
