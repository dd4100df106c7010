"""Stats contract: attempt counts, nearest-rank latency, series buckets, the overview, the
event-type catalog and the health times attempts leave behind — on both backends."""

from __future__ import annotations

import math
import time

from storage import Storage
from storage.migrations import MIGRATIONS, migrate
from storage.records import EndpointHealth, Health, NewEvent, Outcome, Subscription, Target
from storage.rollups import BOUNDS_MS, HOUR_US, latency_bucket
from storage.sqlite import SqliteDatabase
from storage.stats import (
    PERCENTILES,
    SERIES_BUCKETS,
    Bucket,
    EventType,
    Stats,
    Window,
    nearest_rank,
)
from tests.storage.test_subscriptions import FIELDS, owner

SECOND = 1_000_000
HOUR = 3600 * SECOND


def now_us() -> int:
    """Unix microseconds now."""
    return time.time_ns() // 1000


async def new_event(storage: Storage, source: str = "src", kind: str = "push", at: int = 0) -> str:
    """A stored event's id."""
    stored = await storage.events.store(
        NewEvent(
            source=source,
            type=kind,
            provider_event_id=f"p-{time.time_ns()}",
            headers={},
            body=b"{}",
            received_at=at or now_us(),
        )
    )
    return stored.id


async def deliveries(storage: Storage, sub: Subscription, n: int) -> list[str]:
    """Ids of ``n`` new pending deliveries to ``sub``, each of its own event."""
    ids = []
    for _ in range(n):
        event_id = await new_event(storage)
        created = await storage.deliveries.create(
            [(event_id, [Target(sub.id, sub.fields.url)])], first_dispatch=True
        )
        ids.append(created[event_id][0].id)
    return ids


def outcome(started_at: int, duration_ms: float, ok: bool) -> Outcome:
    """An attempt that succeeded or failed with a 500, still pending if it failed."""
    return Outcome(
        started_at=started_at,
        duration_ms=duration_ms,
        request_headers={},
        response_status=200 if ok else 500,
        error=None if ok else "http_status",
        status="succeeded" if ok else "pending",
    )


async def test_counts_and_nearest_rank_latency(storage: Storage) -> None:
    """Twenty attempts of 1..20 ms (five failed) count as such; p50/p95/p99 are the
    upper bounds of the buckets of the 10th, 19th and 20th smallest durations, capped
    by the longest (20 ms); another subscription's attempts and those before the window
    do not count."""
    user = await owner(storage, "s@x.io")
    sub, _ = await storage.subscriptions.create(user, FIELDS)
    other, _ = await storage.subscriptions.create(user, FIELDS)
    now = now_us()
    ids = await deliveries(storage, sub, 20)
    await storage.attempts.record(
        [(d, outcome(now - i * SECOND, float(i + 1), ok=i >= 5)) for i, d in enumerate(ids)]
    )
    [old] = await deliveries(storage, sub, 1)
    [others] = await deliveries(storage, other, 1)
    await storage.attempts.record(
        [(old, outcome(now - 2 * HOUR, 999.0, True)), (others, outcome(now, 999.0, False))]
    )

    stats = await storage.stats.for_subscription(sub.id, Window(now - HOUR, now + 1))

    ranks = [math.ceil(p / 100 * 20) for p in (50, 95, 99)]
    assert (15, 5) == (stats.succeeded, stats.failed)
    assert (10, 19, 20) == tuple(ranks)
    assert (BOUNDS_MS[latency_bucket(10.0)], 20.0, 20.0) == stats.latency_ms


async def test_no_attempts_has_no_latency(storage: Storage) -> None:
    """A subscription without attempts in the window has zero counts and null latency."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "z@x.io"), FIELDS)
    now = now_us()

    stats = await storage.stats.for_subscription(sub.id, Window(now - HOUR, now))

    assert (0, 0, (None, None, None)) == (stats.succeeded, stats.failed, stats.latency_ms)
    assert [Bucket(now - HOUR + i * HOUR // 24) for i in range(24)] == list(stats.series)


async def test_series_buckets_split_the_window(storage: Storage) -> None:
    """A 24 h window has 24 one-hour buckets from its start; an attempt lands in the
    bucket its start time falls in, the first and last bucket included."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "b@x.io"), FIELDS)
    until = now_us()
    since = until - 24 * HOUR
    a, b, c = await deliveries(storage, sub, 3)
    await storage.attempts.record(
        [
            (a, outcome(since, 1.0, True)),
            (b, outcome(since + 5 * HOUR + 1, 1.0, False)),
            (c, outcome(until - 1, 1.0, True)),
        ]
    )

    stats = await storage.stats.for_subscription(sub.id, Window(since, until))

    expected = [Bucket(since + i * HOUR) for i in range(SERIES_BUCKETS)]
    expected[0] = Bucket(since, succeeded=1)
    expected[5] = Bucket(since + 5 * HOUR, failed=1)
    expected[23] = Bucket(since + 23 * HOUR, succeeded=1)
    assert expected == list(stats.series)


async def test_attempts_move_the_health_times_forward(storage: Storage) -> None:
    """Recording attempts sets the latest success and failure start times, never moves
    them back, and clears failure counts only for subscriptions asked to."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "t@x.io"), FIELDS)
    now = now_us()
    a, b, c = await deliveries(storage, sub, 3)
    await storage.subscriptions.note_failure(sub.id, now)
    await storage.attempts.record([(a, outcome(now, 1.0, True)), (b, outcome(now + 5, 1, False))])
    kept = await storage.subscriptions.get(sub.id)
    await storage.attempts.record([(c, outcome(now - SECOND, 1.0, True))], clear={sub.id})
    cleared = await storage.subscriptions.get(sub.id)

    assert EndpointHealth(Health(1, now, None), now, now + 5) == kept.health
    assert EndpointHealth(Health(), now, now + 5) == cleared.health


async def test_overview_of_a_seeded_state(storage: Storage) -> None:
    """Events by source and deliveries by status in the window, the pending backlog with
    the oldest pending delivery's creation time, and every attempt in the series."""
    sub, _ = await storage.subscriptions.create(await owner(storage, "o@x.io"), FIELDS)
    await new_event(storage, source="stripe")
    await new_event(storage, source="stripe", at=now_us() - 48 * HOUR)
    first, second, _ = await deliveries(storage, sub, 3)
    await storage.attempts.record(
        [(first, outcome(now_us(), 1.0, True)), (second, outcome(now_us(), 1.0, False))]
    )
    oldest = await storage.deliveries.get(second)
    window = storage.stats.window(24 * HOUR)

    overview = await storage.stats.overview(window)

    assert {"src": 3, "stripe": 1} == overview.events_by_source
    statuses = {"pending": 2, "succeeded": 1, "failed": 0, "cancelled": 0}
    assert statuses == overview.deliveries_by_status
    assert (2, oldest.created_at) == (overview.pending, overview.oldest_pending_at)
    assert (1, 1) == (
        sum(b.succeeded for b in overview.series),
        sum(b.failed for b in overview.series),
    )


async def test_event_type_catalog_counts_stored_events(storage: Storage) -> None:
    """The catalog counts each (source, type) once per stored event (a repeat is not
    stored, so not counted) and keeps the latest receipt time."""
    now = now_us()
    for at in (now - 10, now, now - 5):
        await new_event(storage, "github", "push", at)
    await new_event(storage, "github", "issues", now - 7)
    repeat = NewEvent("github", "issues", "same", {}, b"{}", now - 3)
    await storage.events.store(repeat)
    await storage.events.store(repeat)

    catalog = await storage.stats.event_types()

    expected = [EventType("github", "issues", 2, now - 3), EventType("github", "push", 3, now)]
    assert expected == catalog


async def test_an_owners_event_types_are_its_deliveries(storage: Storage) -> None:
    """Scoped to an owner, the catalog counts only events delivered to its
    subscriptions: another owner's types are absent."""
    mine, _ = await storage.subscriptions.create(await owner(storage, "m@x.io"), FIELDS)
    theirs_owner = await owner(storage, "n@x.io")
    theirs, _ = await storage.subscriptions.create(theirs_owner, FIELDS)
    at = now_us()
    shared = await new_event(storage, "github", "push", at)
    secret = await new_event(storage, "github", "secret.thing", at)
    await storage.deliveries.create(
        [
            (shared, [Target(mine.id, "u"), Target(theirs.id, "u")]),
            (secret, [Target(theirs.id, "u")]),
        ],
        first_dispatch=True,
    )

    catalog = await storage.stats.event_types(mine.owner_id)

    assert [EventType("github", "push", 1, at)] == catalog


async def test_migration_7_backfills_existing_rows(tmp_path: object) -> None:
    """Rows stored before migration 7 get their attempts' subscription and outcome, the
    subscriptions' last success and failure times and the event-type catalog."""
    db = SqliteDatabase(f"{tmp_path}/old.db")
    await db.open()
    try:
        async with db.transaction() as tx:
            await tx.execute(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                "applied_at BIGINT NOT NULL)"
            )
            for version, sql in MIGRATIONS:
                if version < 7:
                    for statement in sql.format(blob="BLOB", boolean="INTEGER").split(";"):
                        if statement.strip():
                            await tx.execute(statement)
                    await tx.execute("INSERT INTO schema_migrations VALUES ($1, 0)", version)
            await tx.execute(
                "INSERT INTO users VALUES ('usr_1', 'n', 'e@x.io', 'member', 0, 0, NULL)"
            )
            await tx.execute(
                "INSERT INTO subscriptions (id, owner_id, url, description, sources, "
                "event_types, enabled, headers, created_at, updated_at) "
                "VALUES ('sub_1', 'usr_1', 'u', '', '[]', '[]', 1, '{}', 0, 0)"
            )
            for n, kind in ((1, "push"), (2, "push"), (3, "issues")):
                await tx.execute(
                    "INSERT INTO events (id, source, type, provider_event_id, received_at, "
                    "headers, body) VALUES ($1, 'gh', $2, $1, $3, '{}', x'')",
                    f"evt_{n}",
                    kind,
                    n * 10,
                )
            await tx.execute(
                "INSERT INTO deliveries (id, event_id, subscription_id, target, status, "
                "created_at, updated_at) VALUES ('dlv_1', 'evt_1', 'sub_1', 'u', 'failed', 0, 0)"
            )
            for n, error in ((1, None), (2, "timeout")):
                await tx.execute(
                    "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, "
                    "request_headers, error) VALUES ($1, 'dlv_1', $2, $3, 1.0, '{}', $4)",
                    f"att_{n}",
                    n,
                    n * 100,
                    error,
                )

        assert [7] == [v for v in await migrate(db) if v == 7]
        stats = await Stats(db).for_subscription("sub_1", Window(0, 1000))
        catalog = await Stats(db).event_types()
        times = await db.fetchrow(
            "SELECT last_success_at, last_failure_at FROM subscriptions WHERE id = 'sub_1'"
        )
    finally:
        await db.close()

    assert (1, 1) == (stats.succeeded, stats.failed)
    assert [EventType("gh", "issues", 1, 30), EventType("gh", "push", 2, 20)] == catalog
    assert times is not None
    assert (100, 200) == (times["last_success_at"], times["last_failure_at"])


def spread(base: int, n: int) -> list[tuple[int, float, bool]]:
    """``n`` attempts (start, duration ms, succeeded) over the ten hours from ``base``:
    durations from 0.2 ms to 70 s (both histogram ends), every seventh failed."""
    return [
        (base + (i * 7_919_000_003) % (10 * HOUR_US), 0.2 + (i * 7919) % 70_000 / 1.0, i % 7 != 0)
        for i in range(n)
    ]


def exact(
    attempts: list[tuple[int, float, bool]], window: Window
) -> tuple[list[Bucket], list[float]]:
    """The series and exact nearest-rank percentiles of ``attempts`` in ``window``."""
    step = window.bucket_us
    counts = [[0, 0] for _ in range(SERIES_BUCKETS)]
    durations = []
    for at, ms, ok in attempts:
        if window.since <= at < window.until:
            counts[(at - window.since) // step][0 if ok else 1] += 1
            durations.append(ms)
    durations.sort()
    series = [Bucket(window.since + i * step, a, b) for i, (a, b) in enumerate(counts)]
    return series, [durations[nearest_rank(p, len(durations)) - 1] for p in PERCENTILES]


async def seeded(
    storage: Storage, n: int = 240
) -> tuple[Subscription, list[tuple[int, float, bool]], int]:
    """A subscription with ``spread`` attempts from ``base`` (an hour and then some
    before the last whole hour), recorded in batches of 50 with another subscription's
    attempts mixed in: the subscription, its attempts and ``base``."""
    user = await owner(storage, f"h{time.time_ns()}@x.io")
    sub, _ = await storage.subscriptions.create(user, FIELDS)
    other, _ = await storage.subscriptions.create(user, FIELDS)
    base = now_us() // HOUR_US * HOUR_US - 12 * HOUR_US
    attempts = spread(base, n)
    ids = await deliveries(storage, sub, n)
    noise = await deliveries(storage, other, n // 4)
    recorded = [(d, outcome(at, ms, ok)) for d, (at, ms, ok) in zip(ids, attempts, strict=True)]
    recorded += [(d, outcome(base + i * 1000, 5.0, True)) for i, d in enumerate(noise)]
    for start in range(0, len(recorded), 50):
        await storage.attempts.record(recorded[start : start + 50])
    return sub, attempts, base


WINDOWS = (
    (17 * 60, 9 * 3600 + 41 * 60),  # partial hours at both ends, boundaries cutting hours
    (0, 10 * 3600),  # whole hours only, boundaries on hours
    (3600 + 7, 3600 + 1800),  # inside one hour
    (-3600, 12 * 3600),  # reaching past the attempts on both sides
)


async def test_counts_are_exact_and_percentiles_one_bucket_off_over_hours(storage: Storage) -> None:
    """Over windows that start and end inside hours and whose buckets cut hours, every
    series bucket counts exactly the attempts in it, and each percentile lies in the
    histogram bucket of the exact nearest-rank value, never below it."""
    sub, attempts, base = await seeded(storage)

    for start_s, end_s in WINDOWS:
        window = Window(base + start_s * SECOND, base + end_s * SECOND)
        stats = await storage.stats.for_subscription(sub.id, window)
        series, percentiles = exact(attempts, window)

        assert series == list(stats.series)
        for exact_ms, approximate in zip(percentiles, stats.latency_ms, strict=True):
            assert approximate is not None
            assert latency_bucket(exact_ms) == latency_bucket(approximate)
            assert exact_ms <= approximate


async def test_overview_series_counts_every_subscriptions_attempts(storage: Storage) -> None:
    """The overview's series counts every subscription's attempts in each bucket, over
    a window whose ends and bucket boundaries fall inside hours."""
    _, attempts, base = await seeded(storage, n=120)
    window = Window(base + 17 * 60 * SECOND, base + (9 * 3600 + 41 * 60) * SECOND)
    noise = [(base + i * 1000, 5.0, True) for i in range(30)]

    overview = await storage.stats.overview(window)

    assert exact(attempts + noise, window)[0] == list(overview.series)


async def test_migration_12_backfills_the_rollups(storage: Storage) -> None:
    """Migration 12 run over stored attempts makes the roll-ups the recorder made:
    the same rows, so the same stats."""
    sub, _, base = await seeded(storage, n=120)
    window = Window(base + 17 * 60 * SECOND, base + (9 * 3600 + 41 * 60) * SECOND)
    select = "SELECT * FROM attempt_rollups ORDER BY subscription_key, hour"

    async def rollups() -> list[dict[str, object]]:
        # Sums of durations are rounded: floats added in another order differ in the
        # last bits.
        rows = [dict(row) for row in await storage.db.fetch(select)]
        return [{**row, "duration_ms_sum": round(float(row["duration_ms_sum"]), 6)} for row in rows]

    recorded = await rollups()
    before = await storage.stats.for_subscription(sub.id, window)
    await storage.db.execute("DROP TABLE attempt_rollups")
    await storage.db.execute("DELETE FROM schema_migrations WHERE version = 12")

    assert [12] == await migrate(storage.db)
    assert recorded == await rollups()
    assert before == await storage.stats.for_subscription(sub.id, window)
