"""Endpoint stats, the operators' overview and the event-type catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from core.clock import SECOND_US
from core.durations import parse_duration
from gateway.api.schemas.common import Query, Resource
from gateway.api.times import to_datetime
from storage.stats import SERIES_BUCKETS, AttemptStats, Bucket, EventType, Overview

MAX_WINDOW_S = 30 * 86_400


def _window_s(text: str) -> str:
    try:
        seconds = parse_duration(text)
    except ValueError as e:
        raise PydanticCustomError("duration", str(e)) from e
    if not 0 < seconds <= MAX_WINDOW_S:
        raise PydanticCustomError("duration", "must be more than 0s and at most 30d")
    return text


Duration = Annotated[
    str,
    AfterValidator(_window_s),
    Field(
        max_length=32,
        description="How far back from now: `300s`, `90m`, `12h`, `5d` (at most `30d`) "
        "or a number of seconds.",
        examples=["24h"],
    ),
]


class WindowQuery(Query):
    """The window the figures cover, ending now."""

    window: Duration = "24h"

    @property
    def window_us(self) -> int:
        """The window in microseconds."""
        return int(parse_duration(self.window) * SECOND_US)


class BucketOut(Resource):
    """Attempts that started in one bucket of the window, by outcome."""

    start: datetime
    succeeded: int
    failed: int

    @staticmethod
    def many(series: tuple[Bucket, ...]) -> list[BucketOut]:
        """The series as its representation."""
        return [
            BucketOut.model_construct(
                start=to_datetime(b.start), succeeded=b.succeeded, failed=b.failed
            )
            for b in series
        ]


SERIES = (
    f"The window in {SERIES_BUCKETS} equal buckets, oldest first, the first starting "
    f"at the window's start (a bucket is the window / {SERIES_BUCKETS}, rounded up to "
    "the microsecond); empty buckets included."
)


class Latency(Resource):
    """Nearest-rank percentiles of the attempts' durations (null without attempts), failures
    included, read from a latency histogram: pN is the upper bound of the histogram bucket
    holding the ceil(N/100 · n)-th smallest of the n durations (each bound √2 times the
    last, from 1 ms to 32.8 s), or the longest duration if that is shorter. Never below
    the exact value, at most 41 % above it (up to 1 ms above it below 1 ms)."""

    p50: float | None
    p95: float | None
    p99: float | None


class SubscriptionStats(Resource):
    """A subscription's attempts that started in the window."""

    window_s: float
    attempts: int
    succeeded: int
    failed: int
    success_rate: float | None = Field(description="succeeded / attempts; null without any.")
    latency_ms: Latency
    series: list[BucketOut] = Field(description=SERIES)

    @classmethod
    def of(cls, stats: AttemptStats) -> SubscriptionStats:
        """The representation of ``stats``."""
        total = stats.succeeded + stats.failed
        p50, p95, p99 = stats.latency_ms
        return cls.model_construct(
            window_s=(stats.window.until - stats.window.since) / SECOND_US,
            attempts=total,
            succeeded=stats.succeeded,
            failed=stats.failed,
            success_rate=stats.succeeded / total if total else None,
            latency_ms=Latency.model_construct(p50=p50, p95=p95, p99=p99),
            series=BucketOut.many(stats.series),
        )


class OverviewOut(Resource):
    """What the gateway did in the window, and the backlog it holds now."""

    window_s: float
    events_by_source: dict[str, int] = Field(description="Events received in the window.")
    deliveries_by_status: dict[str, int] = Field(
        description="Deliveries created in the window, by their status now (every status)."
    )
    pending: int = Field(description="Deliveries pending now, whenever created.")
    oldest_pending_age_s: float | None = Field(
        description="Seconds since the oldest pending delivery was created; null if none."
    )
    series: list[BucketOut] = Field(description=f"Every attempt, by outcome. {SERIES}")

    @classmethod
    def of(cls, overview: Overview) -> OverviewOut:
        """The representation of ``overview``."""
        window = overview.window
        oldest = overview.oldest_pending_at
        return cls.model_construct(
            window_s=(window.until - window.since) / SECOND_US,
            events_by_source=overview.events_by_source,
            deliveries_by_status=overview.deliveries_by_status,
            pending=overview.pending,
            oldest_pending_age_s=None
            if oldest is None
            else max(0.0, (window.until - oldest) / SECOND_US),
            series=BucketOut.many(overview.series),
        )


class EventTypeOut(Resource):
    """One event type seen from one source."""

    source: str
    type: str
    count: int = Field(
        description="Events of this type ever stored (retention purges do not subtract); for "
        "a member, those still stored that were delivered to its subscriptions."
    )
    last_seen_at: datetime

    @classmethod
    def of(cls, seen: EventType) -> EventTypeOut:
        """The representation of ``seen``."""
        return cls.model_construct(
            source=seen.source,
            type=seen.type,
            count=seen.count,
            last_seen_at=to_datetime(seen.last_seen_at),
        )


class EventTypeList(Resource):
    """Every event type seen, by source then type."""

    data: list[EventTypeOut]
