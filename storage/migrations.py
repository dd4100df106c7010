"""The schema, as numbered migrations applied once each, on either backend.

Times are unix microseconds (``BIGINT``) on both backends so that one SQL text
serves both; JSON values (headers, lists) are TEXT. ``migrate`` is idempotent and
safe to run from several processes at once.
"""

from __future__ import annotations

from core.clock import now_us
from storage.database import Connection, Database, Dialect
from storage.errors import SchemaNotReadyError

MIGRATIONS: tuple[tuple[int, str], ...] = (
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
)
LATEST = MIGRATIONS[-1][0]


def _statements(sql: str, dialect: Dialect) -> list[str]:
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


async def _apply(tx: Connection, version: int, sql: str, dialect: Dialect) -> None:
    for statement in _statements(sql, dialect):
        await tx.execute(statement)
    await tx.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
        version,
        now_us(),
    )


async def check_schema(db: Database) -> None:
    """Raise ``SchemaNotReadyError`` unless every migration has been applied."""
    row = await db.fetchrow("SELECT MAX(version) AS version FROM schema_migrations")
    current = row["version"] if row is not None else None
    if current is None or current < LATEST:
        raise SchemaNotReadyError(
            f"schema version {current or 0} < {LATEST}; run `hookgate migrate`"
        )
