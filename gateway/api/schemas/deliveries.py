"""Deliveries (one event to one target) and their attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field

from gateway.api.schemas.common import ListQuery, Page, Resource
from gateway.api.times import optional_datetime, to_datetime
from storage.records import Attempt, Delivery, DeliveryStatus


class DeliveryQuery(ListQuery):
    """Filters of the delivery list."""

    status: DeliveryStatus | None = None
    subscription_id: str | None = Field(default=None, max_length=40)
    event_id: str | None = Field(default=None, max_length=40)
    since: AwareDatetime | None = Field(default=None, description="Created at or after.")
    until: AwareDatetime | None = Field(default=None, description="Created before.")


class DeliveryOut(Resource):
    """One event to one target."""

    id: str = Field(examples=["dlv_01JD0Q6Y1M9ZC8X4W7S5T3R2QP"])
    event_id: str
    subscription_id: str | None = Field(description="Null for a handler.")
    target: str = Field(description="The URL, or `handler:<name>`.")
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        """The representation of ``delivery``."""
        return cls.model_validate(cls.row(delivery))

    @staticmethod
    def row(delivery: Delivery) -> dict[str, Any]:
        """``of(delivery)`` as the dict it dumps to: list pages render these directly."""
        return {
            "id": delivery.id,
            "event_id": delivery.event_id,
            "subscription_id": delivery.subscription_id,
            "target": delivery.target,
            "status": delivery.status,
            "attempt_count": delivery.attempt_count,
            "next_attempt_at": optional_datetime(delivery.next_attempt_at),
            "last_status_code": delivery.last_status_code,
            "created_at": to_datetime(delivery.created_at),
            "updated_at": to_datetime(delivery.updated_at),
        }


class AttemptOut(Resource):
    """One try at a delivery, as sent and as answered."""

    id: str
    number: int
    started_at: datetime
    duration_ms: float
    request_headers: dict[str, str] = Field(description="Signatures and credentials redacted.")
    response_status: int | None
    response_headers: dict[str, str] | None
    response_body: str | None = Field(description="The first 4 KiB, decoded as UTF-8.")
    error: str | None = Field(
        description="`timeout`, `connect`, `tls`, `ssrf_blocked`, `http_status`, "
        "`handler_exception`; null on success."
    )
    error_detail: str | None

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptOut:
        """The representation of ``attempt``."""
        return cls.model_validate(cls.row(attempt))

    @staticmethod
    def row(attempt: Attempt) -> dict[str, Any]:
        """``of(attempt)`` as the dict it dumps to: list pages render these directly."""
        body = attempt.response_body
        return {
            "id": attempt.id,
            "number": attempt.number,
            "started_at": to_datetime(attempt.started_at),
            "duration_ms": attempt.duration_ms,
            "request_headers": dict(attempt.request_headers),
            "response_status": attempt.response_status,
            "response_headers": None
            if attempt.response_headers is None
            else dict(attempt.response_headers),
            "response_body": None if body is None else body.decode("utf-8", "replace"),
            "error": attempt.error,
            "error_detail": attempt.error_detail,
        }


class DeliveryDetail(DeliveryOut):
    """A delivery with every attempt, first to last."""

    attempts: list[AttemptOut]

    @classmethod
    def with_attempts(cls, delivery: Delivery, attempts: list[Attempt]) -> DeliveryDetail:
        """``delivery`` and its ``attempts``."""
        return cls.model_validate(
            {
                **DeliveryOut.row(delivery),
                "attempts": [AttemptOut.row(attempt) for attempt in attempts],
            }
        )


class DeliveryPage(Page[DeliveryOut]):
    """A page of deliveries."""


class DeliveryBatch(Resource):
    """Deliveries created by one request (a replay)."""

    data: list[DeliveryOut]
