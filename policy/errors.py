"""Errors raised by the policy package.

The tree::

    PolicyError
    └── SsrfBlockedError     a delivery URL may not be reached (scheme or address refused)
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base of every error this package raises."""


class SsrfBlockedError(PolicyError):
    """The URL is not http(s), or its host is (or resolves to) a refused address."""
