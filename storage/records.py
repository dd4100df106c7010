"""The rows hookgate stores, as frozen records. Times are unix microseconds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
Role = Literal["admin", "operator", "member"]
ROLES: tuple[Role, ...] = ("admin", "operator", "member")
DeliveryStatus = Literal["pending", "succeeded", "failed", "cancelled"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "succeeded", "failed", "cancelled")
Ordering = Literal["none", "fifo"]
ORDERINGS: tuple[Ordering, ...] = ("none", "fifo")
ErrorKind = Literal["timeout", "connect", "tls", "ssrf_blocked", "http_status", "handler_exception"]
ERROR_DETAIL_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, newest first; ``next_cursor`` is None on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class User:
    """Someone holding API keys, with a role."""

    id: str
    name: str
    email: str
    role: Role
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's stored facts (never the key itself)."""

    id: str
    user_id: str
    prefix: str
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An incoming webhook to store: exact body bytes and lower-case headers.

    ``latin1_headers`` names the headers whose value arrived with bytes that are not
    UTF-8 and is given decoded as ISO-8859-1: ``value.encode("latin-1")`` is exactly
    what was received.
    """

    source: str
    type: str
    provider_event_id: str
    headers: Mapping[str, str]
    body: bytes
    received_at: int
    latin1_headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """The outcome of storing a ``NewEvent``: its id, or the first one's if a repeat."""

    id: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Event:
    """A stored webhook."""

    id: str
    source: str
    type: str
    provider_event_id: str
    received_at: int
    headers: Mapping[str, str]
    body: bytes | None  # None where a list left it out
    dispatched_at: int | None
    latin1_headers: tuple[str, ...] = ()  # as in ``NewEvent``


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A subscription's own retry schedule (``relay.backoff``); each field left None
    takes its value from the ``delivery`` config."""

    max_attempts: int | None = None
    initial_s: float | None = None
    multiplier: float | None = None
    max_s: float | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionFields:
    """What an owner chooses about a subscription."""

    url: str
    description: str = ""
    sources: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    enabled: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    rate_limit_per_s: float | None = None
    filter: Mapping[str, object] | None = None  # ``policy.filters``; None = no filter
    ordering: Ordering = "none"
    retry: RetryPolicy | None = None  # None: ``delivery.*`` config


@dataclass(frozen=True, slots=True)
class Health:
    """How a subscription's endpoint has been answering (the relay's breaker reads it).

    ``failing_since`` is when the current run of failures began; ``breaker_open_until``
    holds deliveries back until then (a half-open probe moves it forward).
    """

    consecutive_failures: int = 0
    failing_since: int | None = None
    breaker_open_until: int | None = None


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """A subscription's health as people read it: its breaker, and when its endpoint
    last took and last refused an attempt (None if it never did)."""

    breaker: Health = Health()
    last_success_at: int | None = None
    last_failure_at: int | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    """An HTTP endpoint that receives matching events."""

    id: str
    owner_id: str
    fields: SubscriptionFields
    disabled_reason: str | None
    created_at: int
    updated_at: int
    health: EndpointHealth = EndpointHealth()  # as read with it (a single get or a page)


@dataclass(frozen=True, slots=True)
class Target:
    """Where one delivery of an event goes: a subscription's URL, or ``handler:<name>``."""

    subscription_id: str | None
    target: str
    ordered: bool = False  # the subscription's ordering is fifo (``storage.deliveries``)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to one target (a subscription's URL, or ``handler:<name>``)."""

    id: str
    event_id: str
    subscription_id: str | None
    target: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: int | None
    last_status_code: int | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at a delivery, as sent and as answered."""

    id: str
    delivery_id: str
    number: int
    started_at: int
    duration_ms: float
    request_headers: Mapping[str, str]
    response_status: int | None
    response_headers: Mapping[str, str] | None
    response_body: bytes | None
    error: str | None
    error_detail: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt as it happened, and what it means for its delivery.

    The sender (HTTP) and the handler call return it with what happened: the answer or
    the error (``error`` is None exactly when the target took the event) and how long it
    took. The backoff policy (``relay.backoff.judge``) completes it with the delivery's
    new ``status`` and, if still pending, ``next_attempt_at``; storage records it as is.
    Times are unix microseconds.
    """

    started_at: int
    duration_ms: float
    request_headers: Mapping[str, str]
    response_status: int | None = None
    response_headers: Mapping[str, str] | None = None
    response_body: bytes | None = None
    error: ErrorKind | None = None
    error_detail: str | None = None
    status: DeliveryStatus | None = None  # None until judged
    next_attempt_at: int | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the target took the event."""
        return self.error is None


def error_detail(error: BaseException) -> str:
    """A short, single-line description of ``error`` for ``Outcome.error_detail``."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return " ".join(text.split())[:ERROR_DETAIL_LIMIT]
