"""The shapes every preset shares: what it is given, what it answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from verifiers.errors import MissingHeaderError


@dataclass(frozen=True, slots=True)
class Request:
    """One incoming webhook as a verifier sees it.

    ``headers`` has lower-case names (the gateway folds them); ``url`` is the
    externally visible URL the provider called (from ``server.public_url``, never
    from untrusted ``Host``/``X-Forwarded-*`` headers), query string included.
    ``fetched`` holds documents the gateway fetched for a ``NeedsFetch`` verifier
    (SNS signing certificates), keyed by URL.
    """

    body: bytes
    headers: Mapping[str, str]
    url: str = ""
    method: str = "POST"
    fetched: Mapping[str, bytes] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None."""
        return self.headers.get(name.lower())

    def require(self, name: str) -> str:
        """The value of header ``name`` (any case), or ``MissingHeaderError``."""
        value = self.headers.get(name.lower())
        if value is None:
            raise MissingHeaderError(f"{name.lower()} is missing")
        return value


@dataclass(frozen=True, slots=True)
class Handshake:
    """The exact answer a provider's handshake requires (after verification).

    ``confirm_url``, when set, is a URL the gateway must GET to confirm a
    subscription (SNS ``SubscribeURL``).
    """

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    confirm_url: str | None = None


@dataclass(frozen=True, slots=True)
class Verified:
    """What a successful verification establishes.

    ``event_id`` is the provider's id for deduplication and ``event_type`` its type;
    either is None when the provider sends none (the gateway then falls back to a
    hash of the body and ``unknown``). ``handshake`` is set when the request is a
    provider handshake that must be answered instead of stored.
    """

    event_id: str | None = None
    event_type: str | None = None
    handshake: Handshake | None = None


class Verifier(Protocol):
    """A configured preset: checks one request against the source's secrets."""

    def verify(self, request: Request, now: float) -> Verified:
        """Return the verified facts or raise a ``VerificationError``.

        ``now`` is unix seconds (injected so tests can freeze the clock).
        """
        ...


@runtime_checkable
class NeedsFetch(Protocol):
    """A verifier that needs documents fetched before it can verify (SNS).

    ``urls_to_fetch`` checks each URL is one the provider really uses (raising a
    ``VerificationError`` otherwise); the gateway fetches them and passes the bytes
    in ``Request.fetched``. The verifier itself never does I/O.
    """

    def urls_to_fetch(self, request: Request) -> tuple[str, ...]:
        """The URLs whose content ``verify`` will need for this request."""
        ...


@dataclass(frozen=True, slots=True)
class Settings:
    """A source's configuration for its preset, already checked for unknown keys."""

    secrets: tuple[str, ...]
    tolerance_s: float | None
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Preset:
    """A named signature scheme and how to build a verifier for it.

    ``options`` lists the option names the preset understands (anything else is a
    config error); ``default_tolerance_s`` is used when the source sets none (None:
    the scheme has no timestamp); ``accepted_status`` is the 2xx the provider
    expects for a stored event; ``secret_headers`` names, for a source's options, the
    lower-case headers that carry the secret itself (a token, not a signature over
    the body), which the gateway never stores.
    """

    name: str
    build: Callable[[Settings], Verifier]
    summary: str
    options: tuple[str, ...] = ()
    default_tolerance_s: float | None = None
    needs_secrets: bool = True
    accepted_status: int = 202
    secret_headers: Callable[[Mapping[str, object]], frozenset[str]] = lambda _options: frozenset()
