"""Subscriptions: HTTP endpoints that receive matching events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from gateway.api.schemas.common import Body, Page, Resource, omittable
from gateway.api.times import to_datetime
from policy.redaction import shown_headers
from storage.records import Subscription

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


class SubscriptionIn(Body):
    """A subscription's owner-chosen fields (POST creates, PUT replaces them all)."""

    url: Url
    description: Description = ""
    sources: Sources = Field(default_factory=list)
    event_types: EventTypes = Field(default_factory=list)
    enabled: bool = True
    headers: Headers = Field(default_factory=dict)
    rate_limit_per_s: RateLimit | None = None


class SubscriptionPatch(Body):
    """The fields to change; those left out keep their value (null clears the rate limit)."""

    url: Url = omittable()
    description: Description = omittable()
    sources: Sources = omittable()
    event_types: EventTypes = omittable()
    enabled: bool = omittable()
    headers: Headers = omittable()
    rate_limit_per_s: RateLimit | None = omittable()


class RotateSecretIn(Body):
    """How long the current secrets stay valid beside the new one."""

    grace_s: float = Field(
        default=DAY_S,
        ge=0,
        le=30 * DAY_S,
        allow_inf_nan=False,
        description="Seconds during which deliveries carry the old signatures too.",
    )


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
    owner_id: str
    created_at: datetime
    updated_at: datetime

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
            "owner_id": subscription.owner_id,
            "created_at": to_datetime(subscription.created_at),
            "updated_at": to_datetime(subscription.updated_at),
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
