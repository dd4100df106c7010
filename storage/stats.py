"""Read-only aggregates: attempt stats, the operators' overview, the event-type catalog.

Every figure covers a window ending now. Its ``series`` cuts the window into
``SERIES_BUCKETS`` equal buckets, the first starting at the window's start (a bucket
is ``ceil(window / SERIES_BUCKETS)`` µs, so the last may reach slightly past now).

Latency percentiles are *nearest-rank*: p is the ``ceil(p/100 · n)``-th smallest
duration of the ``n`` attempts in the window (p50 of 1, 2, 3, 4 is 2), every attempt
counting, failures included (a timeout is latency the endpoint's users notice).

The queries read the columns ``attempts`` repeats for them (``subscription_id``,
``succeeded``) through covering indexes (migration 7), so they read one index range
and never the table; the catalog is the ``event_types`` table that the event batch
insert keeps (``storage.events``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.clock import Clock, now_us
from storage.database import Database, Row
from storage.query import Where, add_time_range
from storage.records import DELIVERY_STATUSES

SERIES_BUCKETS = 24
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True, slots=True)
class Bucket:
    """Attempts that started in ``[start, start + width)`` (unix µs), by outcome."""

    start: int
    succeeded: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    """``[since, until)`` in unix µs, and the width of its series' buckets."""

    since: int
    until: int

    @property
    def bucket_us(self) -> int:
        """The width of one of the ``SERIES_BUCKETS`` buckets (at least 1 µs)."""
        return max(1, -(-(self.until - self.since) // SERIES_BUCKETS))


@dataclass(frozen=True, slots=True)
class AttemptStats:
    """A subscription's attempts in a window: counts, latency percentiles, series."""

    window: Window
    series: tuple[Bucket, ...]
    latency_ms: tuple[float | None, ...]  # one per ``PERCENTILES``; None without attempts

    @property
    def succeeded(self) -> int:
        """Attempts the endpoint took."""
        return sum(bucket.succeeded for bucket in self.series)

    @property
    def failed(self) -> int:
        """Attempts that failed, for whatever reason."""
        return sum(bucket.failed for bucket in self.series)


@dataclass(frozen=True, slots=True)
class Overview:
    """What the whole gateway did in a window, and what it still owes now."""

    window: Window
    events_by_source: dict[str, int]  # received in the window
    deliveries_by_status: dict[str, int]  # created in the window, every status present
    pending: int  # pending now, whenever created
    oldest_pending_at: int | None  # creation time of the oldest pending delivery
    series: tuple[Bucket, ...]


@dataclass(frozen=True, slots=True)
class EventType:
    """One (source, type) seen, how many events it had and when it was last seen."""

    source: str
    type: str
    count: int
    last_seen_at: int


def nearest_rank(percentile: int, n: int) -> int:
    """The 1-based rank of the ``percentile``-th percentile among ``n`` sorted values."""
    return max(1, -(-percentile * n // 100))


class Stats:
    """The aggregates, each in a few queries whatever the volume."""

    def __init__(self, db: Database, *, clock: Clock = now_us) -> None:
        self._db = db
        self._clock = clock

    def window(self, span_us: int) -> Window:
        """The window of ``span_us`` ending now."""
        until = self._clock()
        return Window(until - span_us, until)

    async def for_subscription(self, sub_id: str, window: Window) -> AttemptStats:
        """The attempts of subscription ``sub_id`` that started in ``window``."""
        rows = await self._db.fetch(
            "SELECT (started_at - $2) / $4 AS bucket, succeeded, COUNT(*) AS n FROM attempts "
            "WHERE subscription_id = $1 AND started_at >= $2 AND started_at < $3 "
            "GROUP BY 1, 2",
            sub_id,
            window.since,
            window.until,
            window.bucket_us,
        )
        series = _series(window, rows)
        total = sum(bucket.succeeded + bucket.failed for bucket in series)
        return AttemptStats(window, series, await self._latency(sub_id, window, total))

    async def _latency(self, sub_id: str, window: Window, n: int) -> tuple[float | None, ...]:
        """The ``PERCENTILES`` of the durations of ``n`` attempts (one sort of them)."""
        if n == 0:
            return tuple(None for _ in PERCENTILES)
        ranks = [nearest_rank(p, n) for p in PERCENTILES]
        rows = await self._db.fetch(
            "SELECT place, duration_ms FROM (SELECT duration_ms, "
            "ROW_NUMBER() OVER (ORDER BY duration_ms) AS place FROM attempts "
            "WHERE subscription_id = $1 AND started_at >= $2 AND started_at < $3) AS ranked "
            "WHERE place IN ($4, $5, $6)",
            sub_id,
            window.since,
            window.until,
            *ranks,
        )
        found = {int(row["place"]): float(row["duration_ms"]) for row in rows}
        return tuple(found.get(rank) for rank in ranks)

    async def overview(self, window: Window) -> Overview:
        """Events, deliveries and attempts of ``window``; the pending backlog now."""
        attempts = await self._db.fetch(
            "SELECT (started_at - $1) / $3 AS bucket, succeeded, COUNT(*) AS n FROM attempts "
            "WHERE started_at >= $1 AND started_at < $2 GROUP BY 1, 2",
            window.since,
            window.until,
            window.bucket_us,
        )
        pending, oldest_pending_at = await self.backlog()
        return Overview(
            window=window,
            events_by_source=await self._counts("events", "source", "received_at", "evt", window),
            deliveries_by_status={
                **dict.fromkeys(DELIVERY_STATUSES, 0),
                **await self._counts("deliveries", "status", "created_at", "dlv", window),
            },
            pending=pending,
            oldest_pending_at=oldest_pending_at,
            series=_series(window, attempts),
        )

    async def backlog(self) -> tuple[int, int | None]:
        """Deliveries pending now, whenever created, and the creation time of the oldest
        (None if none); the worker's gauges read it too (``relay.observe``)."""
        row = await self._db.fetchrow(
            "SELECT COUNT(*) AS n, (SELECT created_at FROM deliveries WHERE status = 'pending' "
            "ORDER BY id LIMIT 1) AS oldest FROM deliveries WHERE status = 'pending'"
        )
        return (0, None) if row is None else (int(row["n"]), row["oldest"])

    async def _counts(
        self, table: str, column: str, time_column: str, prefix: str, window: Window
    ) -> dict[str, int]:
        """Rows of ``table`` made in ``window``, counted by ``column``."""
        where = add_time_range(
            Where(),
            id_column="id",
            time_column=time_column,
            prefix=prefix,
            since=window.since,
            until=window.until,
        )
        rows = await self._db.fetch(
            f"SELECT {column} AS name, COUNT(*) AS n FROM {table}{where.sql()} "
            f"GROUP BY {column} ORDER BY {column}",
            *where.args,
        )
        return {row["name"]: int(row["n"]) for row in rows}

    async def event_types(self, owner_id: str | None = None) -> list[EventType]:
        """Every (source, type) stored, by source then type; ``owner_id`` keeps those of
        the events behind that owner's deliveries, counting only those events.

        The whole catalog is the small ``event_types`` table; an owner's is counted from
        its own deliveries (the catalog would tell it of other owners' events).
        """
        if owner_id is None:
            rows = await self._db.fetch(
                "SELECT source, type, count, last_seen_at FROM event_types ORDER BY source, type"
            )
        else:
            rows = await self._db.fetch(
                "SELECT source, type, COUNT(*) AS count, MAX(received_at) AS last_seen_at "
                "FROM events WHERE id IN (SELECT d.event_id FROM deliveries d "
                "JOIN subscriptions s ON s.id = d.subscription_id WHERE s.owner_id = $1) "
                "GROUP BY source, type ORDER BY source, type",
                owner_id,
            )
        return [
            EventType(row["source"], row["type"], int(row["count"]), int(row["last_seen_at"]))
            for row in rows
        ]


def _series(window: Window, rows: Sequence[Row]) -> tuple[Bucket, ...]:
    """Every bucket of ``window``, empty ones included, from ``(bucket, succeeded, n)``."""
    counts = [[0, 0] for _ in range(SERIES_BUCKETS)]
    for row in rows:
        counts[int(row["bucket"])][0 if row["succeeded"] else 1] += int(row["n"])
    step = window.bucket_us
    return tuple(
        Bucket(window.since + index * step, succeeded, failed)
        for index, (succeeded, failed) in enumerate(counts)
    )
