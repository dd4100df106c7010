"""Read-only aggregates: attempt stats, the operators' overview, the event-type catalog.

Every figure covers a window ending now. Its ``series`` cuts the window into
``SERIES_BUCKETS`` equal buckets, the first starting at the window's start (a bucket
is ``ceil(window / SERIES_BUCKETS)`` µs, so the last may reach slightly past now).

Counts are exact. Latency percentiles are *nearest-rank* over every attempt in the
window, failures included (a timeout is latency the endpoint's users notice), read
from a latency histogram: p is the upper bound of the histogram bucket holding the
``ceil(p/100 · n)``-th smallest duration of the ``n`` attempts (or the longest attempt,
if shorter), so never below the exact value and at most √2 above it
(``storage.rollups``).

The figures come from the hourly roll-ups (``storage.rollups``) for each whole hour
of the window that lies in one series bucket, and from the attempts themselves for
the rest: the partial hours at the window's ends and the hours a bucket boundary cuts
(``_Split``; at most 25 hours whatever the window, read through the covering indexes
of migration 7). The catalog is the ``event_types`` table that the event batch insert
keeps (``storage.events``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.clock import Clock, now_us
from core.ids import first_id
from storage.database import Database
from storage.query import Where
from storage.records import DELIVERY_STATUSES
from storage.rollups import (
    HOUR_US,
    Tally,
    histogram_of,
    hour_of,
    hours_of,
    latency_bucket_sql,
    totals_by_hour,
    upper_bound_ms,
)

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
        split = _Split.of(window)
        counts = [Tally() for _ in range(SERIES_BUCKETS)]
        latency = Tally()
        if split.end_hour > split.first_hour:
            for row in await hours_of(self._db, sub_id, split.first_hour, split.end_hour):
                if int(row["hour"]) not in split.raw_hours:
                    bucket = counts[split.bucket(int(row["hour"]))]
                    bucket.succeeded += int(row["succeeded"])
                    bucket.failed += int(row["failed"])
            summed = await histogram_of(
                self._db, sub_id, split.first_hour, split.end_hour, sorted(split.raw_hours)
            )
            if summed is not None:
                latency.add_row(summed)
        if split.raw:
            where = Where()
            ranges = " UNION ALL ".join(
                "SELECT started_at, succeeded, duration_ms FROM attempts "
                f"WHERE subscription_id = {where.param(sub_id)} "
                f"AND started_at >= {where.param(lo)} AND started_at < {where.param(hi)}"
                for lo, hi in split.raw
            )
            rows = await self._db.fetch(
                f"SELECT (started_at - {where.param(window.since)}) / "
                f"{where.param(window.bucket_us)} AS bucket, succeeded, "
                f"{latency_bucket_sql('duration_ms')} AS latency, COUNT(*) AS n, "
                f"MAX(duration_ms) AS longest FROM ({ranges}) AS raw GROUP BY 1, 2, 3",
                *where.args,
            )
            for row in rows:
                n, index = int(row["n"]), int(row["latency"])
                for tally in (counts[int(row["bucket"])], latency):
                    if row["succeeded"]:
                        tally.succeeded += n
                    else:
                        tally.failed += n
                    tally.latency[index] += n
                    tally.duration_ms_max = max(tally.duration_ms_max, float(row["longest"]))
        series = tuple(
            Bucket(window.since + i * window.bucket_us, t.succeeded, t.failed)
            for i, t in enumerate(counts)
        )
        return AttemptStats(window, series, percentiles(latency))

    async def overview(self, window: Window) -> Overview:
        """Events, deliveries and attempts of ``window``; the pending backlog now."""
        split = _Split.of(window)
        counts = [[0, 0] for _ in range(SERIES_BUCKETS)]
        if split.end_hour > split.first_hour:
            for row in await totals_by_hour(self._db, split.first_hour, split.end_hour):
                if int(row["hour"]) not in split.raw_hours:
                    bucket = counts[split.bucket(int(row["hour"]))]
                    bucket[0] += int(row["succeeded"])
                    bucket[1] += int(row["failed"])
        if split.raw:
            where = Where()
            ranges = " UNION ALL ".join(
                f"SELECT started_at, succeeded FROM attempts WHERE started_at >= "
                f"{where.param(lo)} AND started_at < {where.param(hi)}"
                for lo, hi in split.raw
            )
            rows = await self._db.fetch(
                f"SELECT (started_at - {where.param(window.since)}) / "
                f"{where.param(window.bucket_us)} AS bucket, succeeded, COUNT(*) AS n "
                f"FROM ({ranges}) AS raw GROUP BY 1, 2",
                *where.args,
            )
            for row in rows:
                counts[int(row["bucket"])][0 if row["succeeded"] else 1] += int(row["n"])
        pending, oldest_pending_at = await self.backlog()
        return Overview(
            window=window,
            events_by_source=await self._counts(
                "events", "source", await self._sources(), "evt", window
            ),
            deliveries_by_status={
                **dict.fromkeys(DELIVERY_STATUSES, 0),
                **await self._counts("deliveries", "status", DELIVERY_STATUSES, "dlv", window),
            },
            pending=pending,
            oldest_pending_at=oldest_pending_at,
            series=tuple(
                Bucket(window.since + i * window.bucket_us, ok, bad)
                for i, (ok, bad) in enumerate(counts)
            ),
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
        self, table: str, column: str, names: Sequence[str], prefix: str, window: Window
    ) -> dict[str, int]:
        """Rows of ``table`` whose id was made in ``window``, counted for each of ``names``
        of ``column``: one count per name over the ``(column, id)`` index, which answers
        from the index alone (ids begin with their creation millisecond, ``core.ids``),
        where a ``GROUP BY`` over the window would read every row of it."""
        counts = {}
        for name in names:
            where = Where().add(f"{column} = {{}}", name)
            where.add("id >= {}", first_id(prefix, window.since // 1000))
            where.add("id < {}", first_id(prefix, window.until // 1000))
            row = await self._db.fetchrow(
                f"SELECT COUNT(*) AS n FROM {table}{where.sql()}", *where.args
            )
            if row is not None and int(row["n"]):
                counts[name] = int(row["n"])
        return counts

    async def _sources(self) -> list[str]:
        """Every source that ever stored an event (from the small catalog)."""
        rows = await self._db.fetch("SELECT DISTINCT source FROM event_types ORDER BY source")
        return [row["source"] for row in rows]

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


@dataclass(frozen=True, slots=True)
class _Split:
    """Where a window's figures come from: the roll-ups of the whole hours in
    ``[first_hour, end_hour)`` but ``raw_hours``, and the attempts themselves in the
    ``raw`` ranges (the partial hours at either end, and each hour a series bucket
    boundary cuts, which a roll-up cannot divide). Together they cover the window once.
    """

    window: Window
    first_hour: int
    end_hour: int
    raw_hours: frozenset[int]
    raw: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, window: Window) -> _Split:
        """The split of ``window``."""
        since, until, step = window.since, window.until, window.bucket_us
        first_hour = -(-since // HOUR_US) * HOUR_US
        end_hour = hour_of(until)
        if first_hour >= end_hour:
            return cls(window, first_hour, first_hour, frozenset(), ((since, until),))
        cuts = (since + i * step for i in range(1, SERIES_BUCKETS))
        raw_hours = frozenset(
            hour_of(cut) for cut in cuts if cut % HOUR_US and first_hour <= cut < end_hour
        )
        ranges = [(since, first_hour), (end_hour, until)]
        ranges += [(hour, hour + HOUR_US) for hour in raw_hours]
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(r for r in ranges if r[0] < r[1]):
            if merged and merged[-1][1] == lo:
                merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        return cls(window, first_hour, end_hour, raw_hours, tuple(merged))

    def bucket(self, hour: int) -> int:
        """The series bucket a whole hour outside ``raw_hours`` lies in."""
        return (hour - self.window.since) // self.window.bucket_us


def percentiles(latency: Tally) -> tuple[float | None, ...]:
    """The ``PERCENTILES`` of the attempts in ``latency``'s histogram: each the upper
    bound of the bucket holding its nearest-rank value, or the longest attempt if
    shorter (None without attempts)."""
    n = latency.succeeded + latency.failed
    if n == 0:
        return tuple(None for _ in PERCENTILES)
    found = []
    for percentile in PERCENTILES:
        rank, seen = nearest_rank(percentile, n), 0
        for bucket, count in enumerate(latency.latency):
            seen += count
            if seen >= rank:
                found.append(min(upper_bound_ms(bucket), latency.duration_ms_max))
                break
    return tuple(found)
