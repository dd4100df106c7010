"""Errors raised by the verifiers package.

The tree::

    VerifierError
    ├── VerifierConfigError            a source's secrets/options do not fit its preset
    └── VerificationError              a request is refused (the gateway answers 401)
        ├── MissingHeaderError         a required header (or body field) is absent
        ├── MalformedRequestError      a header or body cannot be parsed
        ├── SignatureMismatchError     no signature matched any secret
        ├── TimestampOutOfToleranceError
        └── UnsupportedVersionError    a scheme/version the preset does not accept

Every ``VerificationError`` carries a short machine ``reason`` for metrics and logs;
messages never contain secrets, signatures or bodies.
"""

from __future__ import annotations


class VerifierError(Exception):
    """Base of every error this package raises."""


class VerifierConfigError(VerifierError):
    """A source's configuration does not fit its preset.

    ``key`` is the path below the source (``options.header``, ``secrets``) so that
    the config loader can prefix it with the source's own path.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class VerificationError(VerifierError):
    """The request is not accepted as coming from the provider."""

    reason = "invalid"


class MissingHeaderError(VerificationError):
    """A header or signed field the scheme needs is absent."""

    reason = "missing_header"


class MalformedRequestError(VerificationError):
    """A header or the body is present but cannot be parsed."""

    reason = "malformed"


class SignatureMismatchError(VerificationError):
    """The signature does not match any configured secret."""

    reason = "bad_signature"


class TimestampOutOfToleranceError(VerificationError):
    """The signed timestamp is outside the accepted window."""

    reason = "timestamp"


class UnsupportedVersionError(VerificationError):
    """The request uses a signature scheme or version the preset refuses."""

    reason = "unsupported_version"
