"""The ``attempt_rollups`` table: attempts counted per subscription and hour.

A row holds one subscription's attempts that started in one hour (``hour`` is the
hour's first microsecond): how many succeeded and failed, the sum and the longest of
their durations, and a latency histogram of ``BUCKETS`` counts (``latency_0`` …).
Attempts of no subscription (the gateway's own handlers) share the key
``NO_SUBSCRIPTION``, so the hours' sums are every attempt.

The recorder adds each batch of attempts in its own transaction (``storage.attempts``):
the batch is tallied here first, then one upsert statement adds a row per (key, hour)
it touched, in key order so that concurrent recorders lock rows in the same order and
cannot deadlock. Migration 12 filled the table from the attempts stored before it.

Histogram buckets are log-spaced: bucket ``i < BUCKETS - 1`` holds durations in
``(BOUNDS_MS[i - 1], BOUNDS_MS[i]]`` (bucket 0 everything up to 1 ms), each bound √2
times the one before, up to 2¹⁵ ms (32.8 s); the last bucket holds longer ones. A
percentile read from it is its bucket's upper bound (``upper_bound_ms``), so never
below the exact value and at most √2 (41 %) above it, and never above the longest.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

from storage.database import Connection, Row
from storage.query import Where

HOUR_US = 3_600_000_000
NO_SUBSCRIPTION = ""
BOUNDS_MS: tuple[float, ...] = tuple(2 ** (i / 2) for i in range(31))
BUCKETS = len(BOUNDS_MS) + 1
LATENCY_COLUMNS = tuple(f"latency_{i}" for i in range(BUCKETS))
_COUNTS = ("succeeded", "failed", "duration_ms_sum", *LATENCY_COLUMNS)
_COLUMNS = ("subscription_key", "hour", *_COUNTS, "duration_ms_max")
_UPSERT = (
    f"INSERT INTO attempt_rollups ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_COLUMNS) + 1))}) "
    "ON CONFLICT (subscription_key, hour) DO UPDATE SET "
    + ", ".join(f"{c} = attempt_rollups.{c} + excluded.{c}" for c in _COUNTS)
    + ", duration_ms_max = CASE WHEN excluded.duration_ms_max > attempt_rollups.duration_ms_max "
    "THEN excluded.duration_ms_max ELSE attempt_rollups.duration_ms_max END"
)


def hour_of(at_us: int) -> int:
    """The first microsecond of the hour ``at_us`` falls in."""
    return at_us - at_us % HOUR_US


def latency_bucket(duration_ms: float) -> int:
    """The histogram bucket of ``duration_ms``."""
    return bisect_left(BOUNDS_MS, duration_ms)


def upper_bound_ms(bucket: int) -> float:
    """The longest duration bucket ``bucket`` holds (infinite for the last)."""
    return BOUNDS_MS[bucket] if bucket < len(BOUNDS_MS) else float("inf")


def latency_bucket_sql(column: str) -> str:
    """SQL for ``latency_bucket`` of ``column``, the same on both backends."""
    whens = " ".join(f"WHEN {column} <= {bound!r} THEN {i}" for i, bound in enumerate(BOUNDS_MS))
    return f"CASE {whens} ELSE {len(BOUNDS_MS)} END"


@dataclass(slots=True)
class Tally:
    """Attempts added up: outcomes, durations and their histogram."""

    succeeded: int = 0
    failed: int = 0
    duration_ms_sum: float = 0.0
    duration_ms_max: float = 0.0
    latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def add(self, succeeded: bool, duration_ms: float) -> None:
        """Count one attempt."""
        if succeeded:
            self.succeeded += 1
        else:
            self.failed += 1
        self.duration_ms_sum += duration_ms
        self.duration_ms_max = max(self.duration_ms_max, duration_ms)
        self.latency[latency_bucket(duration_ms)] += 1

    def add_row(self, row: Row) -> None:
        """Add a row of ``attempt_rollups``' sums (all NULL when it summed no rows)."""
        if row["succeeded"] is None:
            return
        self.succeeded += int(row["succeeded"])
        self.failed += int(row["failed"])
        self.duration_ms_max = max(self.duration_ms_max, float(row["duration_ms_max"]))
        for i, column in enumerate(LATENCY_COLUMNS):
            self.latency[i] += int(row[column])


Attempted = tuple[str | None, int, bool, float]  # subscription id, started_at, succeeded, ms


def tally(
    attempts: Iterable[Attempted], into: dict[tuple[str, int], Tally] | None = None
) -> dict[tuple[str, int], Tally]:
    """``attempts`` added up per (subscription key, hour), onto ``into`` if given."""
    tallies: dict[tuple[str, int], Tally] = {} if into is None else into
    for sub_id, started_at, succeeded, duration_ms in attempts:
        key = (NO_SUBSCRIPTION if sub_id is None else sub_id, hour_of(started_at))
        tallies.setdefault(key, Tally()).add(succeeded, duration_ms)
    return tallies


def rollup_rows(tallies: dict[tuple[str, int], Tally]) -> list[tuple[object, ...]]:
    """The ``attempt_rollups`` rows of ``tallies``, in key order."""
    return [
        (key, hour, t.succeeded, t.failed, t.duration_ms_sum, *t.latency, t.duration_ms_max)
        for (key, hour), t in sorted(tallies.items())
    ]


async def add_attempts(tx: Connection, attempts: Iterable[Attempted]) -> None:
    """Add ``attempts`` to their hours' rollups, in ``tx``: one statement however many."""
    rows = rollup_rows(tally(attempts))
    if rows:
        await tx.executemany(_UPSERT, rows)


async def hours_of(db: Connection, key: str, first_hour: int, end_hour: int) -> list[Row]:
    """The outcomes of subscription key ``key`` for each hour in ``[first_hour, end_hour)``
    (its primary key range: at most one row an hour)."""
    return await db.fetch(
        "SELECT hour, succeeded, failed FROM attempt_rollups "
        "WHERE subscription_key = $1 AND hour >= $2 AND hour < $3",
        key,
        first_hour,
        end_hour,
    )


async def histogram_of(
    db: Connection, key: str, first_hour: int, end_hour: int, skip: Iterable[int] = ()
) -> Row | None:
    """Subscription key ``key``'s rollups of the hours in ``[first_hour, end_hour)`` but
    ``skip``, summed into one row (summed in SQL: a row an hour is 30 days of them)."""
    where = Where()
    clauses = (
        f"subscription_key = {where.param(key)} AND hour >= {where.param(first_hour)} "
        f"AND hour < {where.param(end_hour)}"
    )
    skipped = list(skip)
    if skipped:
        clauses += f" AND hour NOT IN ({where.params(skipped)})"
    sums = ", ".join(f"SUM({c}) AS {c}" for c in ("succeeded", "failed", *LATENCY_COLUMNS))
    return await db.fetchrow(
        f"SELECT {sums}, MAX(duration_ms_max) AS duration_ms_max FROM attempt_rollups "
        f"WHERE {clauses}",
        *where.args,
    )


async def totals_by_hour(db: Connection, first_hour: int, end_hour: int) -> list[Row]:
    """Every subscription's rollups summed per hour in ``[first_hour, end_hour)``.

    A sum over the ``hour`` index (a row per active subscription and hour), not a
    gateway-wide row per hour: every recorder would update that one row in every batch,
    serialising them on its lock. ``hour`` is the only indexed column the upsert never
    changes, so PostgreSQL's updates stay heap-only (HOT) and the index stays small.
    """
    return await db.fetch(
        "SELECT hour, SUM(succeeded) AS succeeded, SUM(failed) AS failed FROM attempt_rollups "
        "WHERE hour >= $1 AND hour < $2 GROUP BY hour",
        first_hour,
        end_hour,
    )
