"""The live stream's filters and the two kinds of record it sends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from gateway.api.schemas.common import Query, Resource
from gateway.api.times import to_datetime
from storage.changes import Change


class StreamQuery(Query):
    """Filters of the stream (each optional; all given must hold)."""

    source: str | None = Field(default=None, max_length=64)
    event_type: str | None = Field(
        default=None, max_length=255, description="A type pattern: `*` matches one segment."
    )
    subscription_id: str | None = Field(
        default=None,
        max_length=40,
        description="Only this subscription's attempts, and events once delivered to it.",
    )


class StreamEvent(Resource):
    """`event: event` — an event was stored (or, in a stream scoped to subscriptions,
    given a delivery to one of them)."""

    id: str
    source: str
    type: str
    received_at: datetime
    provider_event_id: str

    @staticmethod
    def row(change: Change) -> dict[str, Any]:
        """What the record's ``data`` holds for ``change``."""
        return {
            "id": change.event_id,
            "source": change.source,
            "type": change.type,
            "received_at": to_datetime(change.received_at),
            "provider_event_id": change.provider_event_id,
        }


class StreamAttempt(Resource):
    """`event: attempt` — an attempt at a delivery was recorded; `status` is the
    delivery's status after it (`pending`: it will be tried again)."""

    delivery_id: str
    event_id: str
    subscription_id: str | None = Field(description="Null for a handler.")
    target: str
    number: int
    status: str
    response_status: int | None
    duration_ms: float
    error: str | None

    @staticmethod
    def row(change: Change) -> dict[str, Any]:
        """What the record's ``data`` holds for ``change``."""
        return {
            "delivery_id": change.delivery_id,
            "event_id": change.event_id,
            "subscription_id": change.subscription_id,
            "target": change.target,
            "number": change.number,
            "status": change.delivery_status,
            "response_status": change.response_status,
            "duration_ms": change.duration_ms,
            "error": change.error,
        }
