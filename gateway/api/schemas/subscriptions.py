"""Subscriptions: HTTP endpoints that receive matching events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from gateway.api.schemas.common import Body, Page, Resource, omittable
from gateway.api.times import optional_datetime, to_datetime
from policy.redaction import shown_headers
from storage.records import Ordering, RetryPolicy, Subscription

DAY_S = 86_400.0
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        description="http(s) URL on a public address (SSRF rule; see "
        "`security.allowed_target_networks`).",
        examples=["https://billing.example.com/webhooks"],
    ),
]
Description = Annotated[str, Field(max_length=1000)]
SourceName = Annotated[str, Field(min_length=1, max_length=64)]
EventTypePattern = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=r"^(\*|[^.*\s]+)(\.(\*|[^.*\s]+))*$",
        description="Dot-separated segments; `*` stands for one segment, or one or more "
        "as the last one.",
        examples=["invoice.*"],
    ),
]
Sources = Annotated[
    list[SourceName], Field(max_length=64, description="Configured source names; empty = all.")
]
EventTypes = Annotated[
    list[EventTypePattern], Field(max_length=100, description="Type patterns; empty = all.")
]
HeaderName = Annotated[
    str, Field(min_length=1, max_length=256, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
]
HeaderValue = Annotated[str, Field(max_length=4096, pattern=r"^[^\r\n\x00]*$")]
Headers = Annotated[
    dict[HeaderName, HeaderValue],
    Field(
        max_length=50,
        description="Static headers added to every delivery (protocol headers win), "
        "stored encrypted. Names ignore case and are stored lower-case; two names that "
        "differ only in case are refused. Values of credential-like names are shown as "
        "`<redacted>`; sending `<redacted>` back for a name with a stored value (in any "
        "case) keeps that value, and for a name without one is refused.",
    ),
]
RateLimit = Annotated[
    float,
    Field(gt=0, le=100_000, allow_inf_nan=False, description="Deliveries a second at most."),
]


FilterSpec = Annotated[
    dict[str, Any] | None,
    Field(
        description='Payload filter `{"body": {...}, "headers": {...}}` (Hookdeck and '
        "Convoy syntax): dotted paths to values or operators (`$eq`, `$neq`, `$gt`, `$gte`, "
        "`$lt`, `$lte`, `$in`, `$nin`, `$exist`, `$startsWith`, `$endsWith`, `$or`, `$and`, "
        "`$not`); an array matches when any element does. At most 16 levels and 16 KB. "
        "Null or `{}`: no filter.",
        examples=[{"body": {"data.object.amount": {"$gte": 1000}}}],
    ),
]
OrderingField = Annotated[
    Ordering,
    Field(
        description="`fifo`: deliveries are attempted one at a time in the order their "
        "events were received; one waiting for its retry holds those behind it."
    ),
]


class BackoffIn(Body):
    """The retry schedule's settings to override (those left out keep `delivery.backoff`)."""

    initial_s: float | None = Field(default=None, ge=0.001, le=86_400, allow_inf_nan=False)
    multiplier: float | None = Field(default=None, ge=1, le=100, allow_inf_nan=False)
    max_s: float | None = Field(default=None, ge=0.001, le=604_800, allow_inf_nan=False)


class RetryIn(Body):
    """A subscription's own retry policy, overriding `delivery.max_attempts` and
    `delivery.backoff` for it (fields left out keep the configured value)."""

    max_attempts: int | None = Field(
        default=None, ge=1, le=100, description="Retries after the first attempt."
    )
    backoff: BackoffIn | None = None

    def policy(self) -> RetryPolicy:
        """As storage keeps it."""
        backoff = self.backoff or BackoffIn()
        return RetryPolicy(
            max_attempts=self.max_attempts,
            initial_s=backoff.initial_s,
            multiplier=backoff.multiplier,
            max_s=backoff.max_s,
        )


class BackoffOut(Resource):
    """The overridden schedule settings (null: the configured value)."""

    initial_s: float | None
    multiplier: float | None
    max_s: float | None


class RetryOut(Resource):
    """A subscription's own retry policy (null fields: the configured value)."""

    max_attempts: int | None
    backoff: BackoffOut

    @staticmethod
    def row(retry: RetryPolicy | None) -> dict[str, Any] | None:
        """``retry`` as the dict it dumps to (None: no override)."""
        if retry is None:
            return None
        backoff = {"initial_s": retry.initial_s, "multiplier": retry.multiplier}
        return {"max_attempts": retry.max_attempts, "backoff": {**backoff, "max_s": retry.max_s}}


class SubscriptionIn(Body):
    """A subscription's owner-chosen fields (POST creates, PUT replaces them all)."""

    url: Url
    description: Description = ""
    sources: Sources = Field(default_factory=list)
    event_types: EventTypes = Field(default_factory=list)
    enabled: bool = True
    headers: Headers = Field(default_factory=dict)
    rate_limit_per_s: RateLimit | None = None
    filter: FilterSpec = None
    ordering: OrderingField = "none"
    retry: RetryIn | None = None


class SubscriptionPatch(Body):
    """The fields to change; those left out keep their value (null clears the rate limit,
    the filter and the retry policy)."""

    url: Url = omittable()
    description: Description = omittable()
    sources: Sources = omittable()
    event_types: EventTypes = omittable()
    enabled: bool = omittable()
    headers: Headers = omittable()
    rate_limit_per_s: RateLimit | None = omittable()
    filter: FilterSpec = omittable()
    ordering: OrderingField = omittable()
    retry: RetryIn | None = omittable()


class RotateSecretIn(Body):
    """How long the current secrets stay valid beside the new one."""

    grace_s: float = Field(
        default=DAY_S,
        ge=0,
        le=30 * DAY_S,
        allow_inf_nan=False,
        description="Seconds during which deliveries carry the old signatures too.",
    )


HealthState = Literal["healthy", "failing", "breaker_open", "disabled"]


class HealthOut(Resource):
    """How the subscription's endpoint has been answering.

    ``state``, the first that applies: `disabled` (not enabled, by its owner or by the
    relay: see `disabled_reason`); `breaker_open` (deliveries held back after
    `delivery.breaker.failures` failures in a row, or waiting for the half-open probe);
    `failing` (its latest attempts failed, `consecutive_failures` of them, since
    `failing_since`); `healthy`.
    """

    state: HealthState
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None = Field(description="When its latest success started.")
    last_failure_at: datetime | None = Field(description="When its latest failure started.")

    @staticmethod
    def row(subscription: Subscription) -> dict[str, Any]:
        """The health of ``subscription`` as the dict it dumps to."""
        health = subscription.health
        breaker = health.breaker
        state: HealthState = "healthy"
        if not subscription.fields.enabled:
            state = "disabled"
        elif breaker.breaker_open_until is not None:
            state = "breaker_open"
        elif breaker.consecutive_failures > 0:
            state = "failing"
        return {
            "state": state,
            "consecutive_failures": breaker.consecutive_failures,
            "failing_since": optional_datetime(breaker.failing_since),
            "last_success_at": optional_datetime(health.last_success_at),
            "last_failure_at": optional_datetime(health.last_failure_at),
        }


class SubscriptionOut(Resource):
    """A subscription."""

    id: str = Field(examples=["sub_01JD0Q6Y1M9ZC8X4W7S5T3R2QP"])
    url: str
    description: str
    sources: list[str]
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(description="Why the relay disabled it, if it did.")
    headers: dict[str, str]
    rate_limit_per_s: float | None
    filter: dict[str, Any] | None = Field(description="The payload filter; null: none.")
    ordering: Ordering
    retry: RetryOut | None = Field(description="Its own retry policy; null: the configured one.")
    owner_id: str
    created_at: datetime
    updated_at: datetime
    health: HealthOut

    @classmethod
    def of(cls, subscription: Subscription) -> SubscriptionOut:
        """The representation of ``subscription`` (credential-like header values hidden)."""
        return cls.model_validate(cls.row(subscription))

    @staticmethod
    def row(subscription: Subscription) -> dict[str, Any]:
        """``of(subscription)`` as the dict it dumps to: list pages render these directly."""
        fields = subscription.fields
        return {
            "id": subscription.id,
            "url": fields.url,
            "description": fields.description,
            "sources": list(fields.sources),
            "event_types": list(fields.event_types),
            "enabled": fields.enabled,
            "disabled_reason": subscription.disabled_reason,
            "headers": shown_headers(fields.headers),
            "rate_limit_per_s": fields.rate_limit_per_s,
            "filter": None if fields.filter is None else dict(fields.filter),
            "ordering": fields.ordering,
            "retry": RetryOut.row(fields.retry),
            "owner_id": subscription.owner_id,
            "created_at": to_datetime(subscription.created_at),
            "updated_at": to_datetime(subscription.updated_at),
            "health": HealthOut.row(subscription),
        }


class SubscriptionWithSecret(SubscriptionOut):
    """A subscription with its new signing secret (create and rotate-secret only)."""

    secret: str = Field(description="Standard Webhooks `whsec_` secret; shown this once.")

    @classmethod
    def with_secret(cls, subscription: Subscription, secret: str) -> SubscriptionWithSecret:
        """``subscription`` and ``secret``."""
        return cls.model_validate({**SubscriptionOut.row(subscription), "secret": secret})


class SubscriptionPage(Page[SubscriptionOut]):
    """A page of subscriptions."""
