"""The schema, as numbered migrations applied once each, on either backend.

Times are unix microseconds (``BIGINT``) on both backends so that one SQL text
serves both; JSON values (headers, lists) are TEXT. ``migrate`` is idempotent and
safe to run from several processes at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.clock import now_us
from storage.database import Connection, Database, Dialect
from storage.errors import SchemaNotReadyError
from storage.rollups import BUCKETS, HOUR_US, LATENCY_COLUMNS, latency_bucket_sql

# A migration is one SQL text for both backends (split at ";"), or, where the backends
# differ beyond ``Dialect`` (triggers, whose bodies hold ";"), whole statements per backend.
Migration = str | Mapping[str, tuple[str, ...]]

# The change feed (``storage.changes``): a row per stored event, per dispatched event and
# per recorded attempt, written by triggers in the writing transaction itself, so no
# write path can forget it. ``seq`` orders rows; on PostgreSQL ``xid`` is the writing
# transaction's id, which tells a reader when every earlier writer has finished.
_CHANGES_TABLE = """
CREATE TABLE changes (
    seq {seq},
    xid BIGINT NOT NULL DEFAULT {xid},
    kind TEXT NOT NULL CHECK (kind IN ('event', 'dispatch', 'attempt')),
    event_id TEXT REFERENCES events (id) ON DELETE CASCADE,
    attempt_id TEXT REFERENCES attempts (id) ON DELETE CASCADE,
    delivery_status TEXT
)"""
_CHANGES_SQLITE = (
    _CHANGES_TABLE.format(seq="INTEGER PRIMARY KEY AUTOINCREMENT", xid="0"),
    "CREATE INDEX changes_event ON changes (event_id)",
    "CREATE INDEX changes_attempt ON changes (attempt_id)",
    "CREATE TRIGGER changes_event_stored AFTER INSERT ON events BEGIN "
    "INSERT INTO changes (kind, event_id) VALUES ('event', NEW.id); END",
    "CREATE TRIGGER changes_event_dispatched AFTER UPDATE OF dispatched_at ON events "
    "WHEN OLD.dispatched_at IS NULL AND NEW.dispatched_at IS NOT NULL BEGIN "
    "INSERT INTO changes (kind, event_id) VALUES ('dispatch', NEW.id); END",
    "CREATE TRIGGER changes_attempt_recorded AFTER INSERT ON attempts BEGIN "
    "INSERT INTO changes (kind, attempt_id, delivery_status) VALUES ('attempt', NEW.id, "
    "(SELECT status FROM deliveries WHERE id = NEW.delivery_id)); END",
)
_CHANGES_POSTGRESQL = (
    _CHANGES_TABLE.format(
        seq="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        xid="(pg_current_xact_id()::text::bigint)",
    ),
    "CREATE INDEX changes_position ON changes (xid, seq)",
    "CREATE INDEX changes_event ON changes (event_id)",
    "CREATE INDEX changes_attempt ON changes (attempt_id)",
    # Statement triggers with transition tables: one INSERT per batch, not per row.
    "CREATE FUNCTION hookgate_events_stored() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO changes (kind, event_id) SELECT 'event', id FROM stored ORDER BY id; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER changes_event_stored AFTER INSERT ON events REFERENCING NEW TABLE AS "
    "stored FOR EACH STATEMENT EXECUTE FUNCTION hookgate_events_stored()",
    "CREATE FUNCTION hookgate_event_dispatched() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN INSERT INTO changes (kind, event_id) VALUES ('dispatch', NEW.id); "
    "RETURN NULL; END $$",
    "CREATE TRIGGER changes_event_dispatched AFTER UPDATE OF dispatched_at ON events "
    "FOR EACH ROW WHEN (OLD.dispatched_at IS NULL AND NEW.dispatched_at IS NOT NULL) "
    "EXECUTE FUNCTION hookgate_event_dispatched()",
    "CREATE FUNCTION hookgate_attempts_recorded() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN INSERT INTO changes (kind, attempt_id, delivery_status) "
    "SELECT 'attempt', a.id, d.status FROM recorded a JOIN deliveries d "
    "ON d.id = a.delivery_id ORDER BY a.id; RETURN NULL; END $$",
    "CREATE TRIGGER changes_attempt_recorded AFTER INSERT ON attempts REFERENCING NEW TABLE "
    "AS recorded FOR EACH STATEMENT EXECUTE FUNCTION hookgate_attempts_recorded()",
)

# Hourly attempt roll-ups (``storage.rollups``), filled from the attempts already stored:
# tallied per (subscription, hour, latency bucket) first, then pivoted into one row.
_ROLLUPS = f"""
CREATE TABLE attempt_rollups (
    subscription_key TEXT NOT NULL,
    hour BIGINT NOT NULL,
    succeeded BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    duration_ms_sum DOUBLE PRECISION NOT NULL,
    duration_ms_max DOUBLE PRECISION NOT NULL,
    {", ".join(f"{column} BIGINT NOT NULL" for column in LATENCY_COLUMNS)},
    PRIMARY KEY (subscription_key, hour)
);
CREATE INDEX attempt_rollups_hour ON attempt_rollups (hour);
INSERT INTO attempt_rollups (subscription_key, hour, succeeded, failed, duration_ms_sum,
    duration_ms_max, {", ".join(LATENCY_COLUMNS)})
SELECT subscription_key, hour, SUM(ok), SUM(bad), SUM(total_ms), MAX(longest_ms),
    {", ".join(f"SUM(CASE WHEN bucket = {i} THEN n ELSE 0 END)" for i in range(BUCKETS))}
FROM (
    SELECT COALESCE(subscription_id, '') AS subscription_key,
        started_at / {HOUR_US} * {HOUR_US} AS hour, {latency_bucket_sql("duration_ms")} AS bucket,
        COUNT(*) AS n, SUM(CASE WHEN succeeded THEN 1 ELSE 0 END) AS ok,
        SUM(CASE WHEN succeeded THEN 0 ELSE 1 END) AS bad, SUM(duration_ms) AS total_ms,
        MAX(duration_ms) AS longest_ms
    FROM attempts GROUP BY 1, 2, 3
) AS tallied
GROUP BY subscription_key, hour
"""

MIGRATIONS: tuple[tuple[int, Migration], ...] = (
    (
        1,
        """
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'member')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_hash {blob} NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id, id);
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    sources TEXT NOT NULL,
    event_types TEXT NOT NULL,
    enabled {boolean} NOT NULL,
    headers TEXT NOT NULL,
    rate_limit_per_s DOUBLE PRECISION,
    disabled_reason TEXT,
    failing_since BIGINT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    breaker_open_until BIGINT,
    deleted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX subscriptions_owner ON subscriptions (owner_id, id);
CREATE TABLE subscription_secrets (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    sealed {blob} NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX subscription_secrets_subscription ON subscription_secrets (subscription_id);
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    provider_event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    headers TEXT NOT NULL,
    body {blob} NOT NULL,
    dispatched_at BIGINT
);
CREATE UNIQUE INDEX events_provider_event ON events (provider_event_id, source);
CREATE INDEX events_source ON events (source, id);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_undispatched ON events (id) WHERE dispatched_at IS NULL;
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    subscription_id TEXT REFERENCES subscriptions (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
    attempt_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until BIGINT,
    last_status_code INTEGER,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_event ON deliveries (event_id, id);
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, id);
CREATE INDEX deliveries_status ON deliveries (status, id);
CREATE TABLE attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    request_headers TEXT NOT NULL,
    response_status INTEGER,
    response_headers TEXT,
    response_body {blob},
    error TEXT,
    error_detail TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, number);
""",
    ),
    (
        2,
        # The API's delivery list filtered on a subscription and a status (its failures,
        # say): one index range, newest first, however rare the status is there.
        """
CREATE INDEX deliveries_subscription_status ON deliveries (subscription_id, status, id);
""",
    ),
    (
        3,
        # A counter bumped with every change to a subscription, so the relay re-reads
        # the subscriptions only when they changed instead of for every job.
        """
CREATE TABLE revisions (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO revisions (name, value) VALUES ('subscriptions', 0);
""",
    ),
    (
        4,
        # The headers of an event stored decoded as ISO-8859-1 because their bytes were
        # not UTF-8 (a JSON list of names; NULL when none), so the bytes can be recovered.
        """
ALTER TABLE events ADD COLUMN latin1_headers TEXT;
""",
    ),
    (
        5,
        # A deleted user stays as a tombstone (keys revoked, e-mail freed): hard-deleting
        # it would cascade through its deleted subscriptions into their delivery history.
        """
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
""",
    ),
    (
        6,
        # Bulk retry and replay as stored jobs (SPEC §10): a job's filters, counts, the
        # cursor (last item id applied) and a lease, so any worker can resume one whose
        # worker died. And Idempotency-Key: the first response to a key, per user, for
        # 24 hours (``response_status`` NULL while the first request is running).
        """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('retry', 'replay')),
    created_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filters TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    matched BIGINT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    item_cursor TEXT,
    holder TEXT,
    lease_until BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_running ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_creator ON jobs (created_by, id);
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response_status INTEGER,
    response_headers TEXT,
    response_body {blob},
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
""",
    ),
    (
        7,
        # Endpoint health and stats (SPEC §10). Attempts carry what the stats group by
        # (their subscription and whether they succeeded), written by the same INSERT,
        # so the stats read one index range instead of joining deliveries; the covering
        # indexes answer them without touching the table. The event-type catalog is
        # kept by the event batch insert, one upsert per batch. Existing rows are
        # backfilled.
        """
ALTER TABLE subscriptions ADD COLUMN last_success_at BIGINT;
ALTER TABLE subscriptions ADD COLUMN last_failure_at BIGINT;
ALTER TABLE attempts ADD COLUMN subscription_id TEXT;
ALTER TABLE attempts ADD COLUMN succeeded {boolean};
UPDATE attempts SET succeeded = (error IS NULL), subscription_id =
    (SELECT d.subscription_id FROM deliveries d WHERE d.id = attempts.delivery_id);
CREATE INDEX attempts_subscription_started
    ON attempts (subscription_id, started_at, succeeded, duration_ms);
CREATE INDEX attempts_started ON attempts (started_at, succeeded);
UPDATE subscriptions SET
    last_success_at = (SELECT MAX(a.started_at) FROM attempts a
        WHERE a.subscription_id = subscriptions.id AND a.succeeded),
    last_failure_at = (SELECT MAX(a.started_at) FROM attempts a
        WHERE a.subscription_id = subscriptions.id AND NOT a.succeeded);
CREATE TABLE event_types (
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    count BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (source, type)
);
INSERT INTO event_types (source, type, count, last_seen_at)
    SELECT source, type, COUNT(*), MAX(received_at) FROM events GROUP BY source, type;
""",
    ),
    (
        8,
        # Named leases that workers take in turn (``storage.locks``): the retention purge
        # runs on one worker at a time. A row, not an advisory lock, so both backends
        # share one mechanism and a dead holder's lease simply runs out.
        """
CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    lease_until BIGINT NOT NULL
);
""",
    ),
    (
        9,
        # Routing (SPEC §12): a subscription's payload filter, ordering and retry override
        # (JSON as TEXT, NULL = none). Ordered (fifo) delivery is decided in storage: a
        # fifo delivery may be claimed only while no delivery of its subscription that
        # comes earlier in its line is pending, and no event received before it is still
        # undispatched (``storage.deliveries``). Its place in the line is its event's
        # (received_at, id), copied onto the delivery so that question is one probe of
        # ``deliveries_line``; pending rows are backfilled (finished ones never ask).
        """
ALTER TABLE subscriptions ADD COLUMN filter TEXT;
ALTER TABLE subscriptions ADD COLUMN ordering TEXT NOT NULL DEFAULT 'none'
    CHECK (ordering IN ('none', 'fifo'));
ALTER TABLE subscriptions ADD COLUMN retry TEXT;
ALTER TABLE deliveries ADD COLUMN received_at BIGINT;
UPDATE deliveries
    SET received_at = (SELECT e.received_at FROM events e WHERE e.id = deliveries.event_id)
    WHERE status = 'pending';
CREATE INDEX deliveries_line ON deliveries (subscription_id, received_at, event_id, id)
    WHERE status = 'pending';
CREATE INDEX events_undispatched_received ON events (received_at, id) WHERE dispatched_at IS NULL;
""",
    ),
    (10, {"sqlite": _CHANGES_SQLITE, "postgresql": _CHANGES_POSTGRESQL}),
    (
        11,
        # Operator console sessions (SPEC §9): only a hash of the session id is stored,
        # tied to the key it signed in with, so revoking the key or deleting the user
        # ends the session (loading it checks both).
        """
CREATE TABLE console_sessions (
    id_hash {blob} PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id, expires_at);
""",
    ),
    (12, _ROLLUPS),
)
LATEST = MIGRATIONS[-1][0]


def _statements(sql: Migration, dialect: Dialect) -> list[str]:
    if not isinstance(sql, str):
        return list(sql[dialect.name])
    text = sql.format(blob=dialect.blob, boolean=dialect.boolean)
    return [statement.strip() for statement in text.split(";") if statement.strip()]


async def migrate(db: Database) -> list[int]:
    """Apply every migration not yet applied; the versions applied now."""
    async with db.transaction() as tx:
        if db.dialect.name == "postgresql":
            # Serialise concurrent migrators (several workers starting at once).
            await tx.execute("SELECT pg_advisory_xact_lock(727272)")
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
        )
        applied = {
            row["version"] for row in await tx.fetch("SELECT version FROM schema_migrations")
        }
        done = []
        for version, sql in MIGRATIONS:
            if version not in applied:
                await _apply(tx, version, sql, db.dialect)
                done.append(version)
        return done


async def _apply(tx: Connection, version: int, sql: Migration, dialect: Dialect) -> None:
    for statement in _statements(sql, dialect):
        await tx.execute(statement)
    await tx.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
        version,
        now_us(),
    )


async def check_schema(db: Database) -> None:
    """Raise ``SchemaNotReadyError`` unless every migration has been applied (each one:
    a database at the latest version may still miss one numbered below it)."""
    rows = await db.fetch("SELECT version FROM schema_migrations")
    missing = sorted({version for version, _ in MIGRATIONS} - {row["version"] for row in rows})
    if missing:
        listed = ", ".join(str(version) for version in missing)
        raise SchemaNotReadyError(f"migrations {listed} not applied; run `hookgate migrate`")
