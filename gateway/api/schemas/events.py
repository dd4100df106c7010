"""Stored webhooks."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, Field, JsonValue

from gateway.api.schemas.common import ListQuery, Page, Resource
from gateway.api.times import to_datetime
from storage.records import Event


class EventQuery(ListQuery):
    """Filters of the event list."""

    source: str | None = Field(default=None, max_length=64)
    event_type: str | None = Field(default=None, max_length=255, description="Exact type.")
    since: AwareDatetime | None = Field(default=None, description="Received at or after.")
    until: AwareDatetime | None = Field(default=None, description="Received before.")


class EventOut(Resource):
    """A stored webhook, without its body."""

    id: str = Field(examples=["evt_01JD0Q6Y1M9ZC8X4W7S5T3R2QP"])
    source: str
    type: str
    provider_event_id: str
    received_at: datetime
    headers: dict[str, str] = Field(description="Lower-case names; credentials never stored.")
    latin1_headers: list[str] = Field(
        description=(
            "Headers whose value arrived with bytes that are not UTF-8: their value is "
            "those bytes read as ISO-8859-1, so encoding it as Latin-1 gives them back."
        ),
        examples=[["x-forwarded-for"]],
    )

    @classmethod
    def of(cls, event: Event) -> EventOut:
        """The representation of ``event``."""
        return cls.model_validate(cls.row(event))

    @staticmethod
    def row(event: Event) -> dict[str, Any]:
        """``of(event)`` as the dict it dumps to: list pages render these directly."""
        return {
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "provider_event_id": event.provider_event_id,
            "received_at": to_datetime(event.received_at),
            "headers": dict(event.headers),
            "latin1_headers": list(event.latin1_headers),
        }


class EventDetail(EventOut):
    """A stored webhook with its exact body."""

    body_base64: str = Field(description="The raw body bytes, base64.")
    body: JsonValue = Field(description="The body parsed as JSON, or null if it is not JSON.")

    @classmethod
    def with_body(cls, event: Event) -> EventDetail:
        """``event`` with its body, raw and parsed."""
        raw = event.body or b""
        return cls.model_validate(
            {
                **EventOut.row(event),
                "body_base64": base64.b64encode(raw).decode(),
                "body": _parsed(raw),
            }
        )


def _parsed(raw: bytes) -> JsonValue:
    try:
        parsed: JsonValue = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return parsed


class EventPage(Page[EventOut]):
    """A page of events."""
