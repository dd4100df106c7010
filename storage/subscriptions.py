"""The ``subscriptions`` and ``subscription_secrets`` tables.

Signing secrets are stored sealed (``SecretBox``). A rotation keeps the previous
secret until its ``expires_at`` so deliveries carry both signatures meanwhile.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import orjson

from core.ids import new_id
from storage.clock import now_us
from storage.crypto import SecretBox, new_signing_secret
from storage.database import Connection, Database, Row
from storage.errors import InvalidFieldError, NotFoundError
from storage.fields import bounded, bounded_list, headers_json
from storage.query import Where, fetch_page
from storage.records import Page, Subscription, SubscriptionFields

_COLUMNS = (
    "id, owner_id, url, description, sources, event_types, enabled, headers, "
    "rate_limit_per_s, disabled_reason, created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class Health:
    """How a subscription's endpoint has been answering (the relay's breaker reads it).

    ``failing_since`` is when the current run of failures began; ``breaker_open_until``
    holds deliveries back until then (a half-open probe moves it forward).
    """

    consecutive_failures: int = 0
    failing_since: int | None = None
    breaker_open_until: int | None = None


def _health(row: Row) -> Health:
    return Health(
        consecutive_failures=row["consecutive_failures"],
        failing_since=row["failing_since"],
        breaker_open_until=row["breaker_open_until"],
    )


def _subscription(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        owner_id=row["owner_id"],
        fields=SubscriptionFields(
            url=row["url"],
            description=row["description"],
            sources=tuple(orjson.loads(row["sources"])),
            event_types=tuple(orjson.loads(row["event_types"])),
            enabled=bool(row["enabled"]),
            headers=orjson.loads(row["headers"]),
            rate_limit_per_s=row["rate_limit_per_s"],
        ),
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _values(fields: SubscriptionFields) -> tuple[object, ...]:
    """Checked column values for ``fields`` (url … rate_limit_per_s)."""
    if fields.rate_limit_per_s is not None and fields.rate_limit_per_s <= 0:
        raise InvalidFieldError("rate_limit_per_s", "must be positive")
    return (
        bounded("url", fields.url),
        bounded("description", fields.description),
        bounded_list("sources", fields.sources),
        bounded_list("event_types", fields.event_types),
        fields.enabled,
        headers_json("headers", fields.headers),
        fields.rate_limit_per_s,
    )


class Subscriptions:
    """Subscriptions, scoped to an owner when one is given (others' rows are not found)."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def create(self, owner_id: str, fields: SubscriptionFields) -> tuple[Subscription, str]:
        """A new subscription and its signing secret (the only time it is seen)."""
        values, now, secret = _values(fields), now_us(), new_signing_secret()
        sub_id = new_id("sub")
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO subscriptions ({_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $10)",
                sub_id,
                owner_id,
                *values,
                now,
            )
            await self._add_secret(tx, sub_id, secret, now)
        return await self.get(sub_id), secret

    async def _add_secret(self, tx: Connection, sub_id: str, secret: str, now: int) -> None:
        await tx.execute(
            "INSERT INTO subscription_secrets (id, subscription_id, sealed, created_at) "
            "VALUES ($1, $2, $3, $4)",
            new_id("sec"),
            sub_id,
            self._box.seal(secret),
            now,
        )

    async def get(self, sub_id: str, owner_id: str | None = None) -> Subscription:
        """The subscription; ``NotFoundError`` if absent, deleted or not ``owner_id``'s."""
        where = Where().add("id = {}", sub_id).add("owner_id = {}", owner_id)
        where.clauses.append("deleted_at IS NULL")
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM subscriptions{where.sql()}", *where.args
        )
        if row is None:
            raise NotFoundError(f"no subscription {sub_id}")
        return _subscription(row)

    async def page(
        self, *, owner_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[Subscription]:
        """Live subscriptions newest first, all or ``owner_id``'s."""
        where = Where().add("owner_id = {}", owner_id)
        where.clauses.append("deleted_at IS NULL")
        return await fetch_page(
            self._db,
            f"SELECT {_COLUMNS} FROM subscriptions",
            where,
            id_column="id",
            limit=limit,
            cursor=cursor,
            convert=_subscription,
        )

    async def update(
        self, sub_id: str, fields: SubscriptionFields, owner_id: str | None = None
    ) -> Subscription:
        """Replace the owner-chosen fields; re-enabling clears ``disabled_reason``."""
        await self.get(sub_id, owner_id)
        await self._db.execute(
            "UPDATE subscriptions SET url = $1, description = $2, sources = $3, event_types = $4, "
            "enabled = $5, headers = $6, rate_limit_per_s = $7, updated_at = $8, "
            "disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END "
            "WHERE id = $9 AND deleted_at IS NULL",
            *_values(fields),
            now_us(),
            sub_id,
        )
        return await self.get(sub_id)

    async def delete(self, sub_id: str, owner_id: str | None = None) -> None:
        """Delete (keeping delivery history) and cancel its pending deliveries."""
        await self.get(sub_id, owner_id)
        now = now_us()
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE subscriptions SET deleted_at = $1, enabled = FALSE, updated_at = $1 "
                "WHERE id = $2",
                now,
                sub_id,
            )
            await tx.execute(
                "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, "
                "updated_at = $1 WHERE subscription_id = $2 AND status = 'pending'",
                now,
                sub_id,
            )

    async def rotate_secret(self, sub_id: str, grace_s: float, owner_id: str | None = None) -> str:
        """A new signing secret; the current ones stay valid for ``grace_s`` seconds."""
        await self.get(sub_id, owner_id)
        now, secret = now_us(), new_signing_secret()
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE subscription_secrets SET expires_at = $1 "
                "WHERE subscription_id = $2 AND (expires_at IS NULL OR expires_at > $1)",
                now + int(grace_s * 1_000_000),
                sub_id,
            )
            await self._add_secret(tx, sub_id, secret, now)
        return secret

    async def signing_secrets(self, sub_id: str, now: int | None = None) -> tuple[str, ...]:
        """The secrets to sign with now: the newest first, then those in their grace period."""
        rows = await self._db.fetch(
            "SELECT sealed FROM subscription_secrets "
            "WHERE subscription_id = $1 AND (expires_at IS NULL OR expires_at > $2) "
            "ORDER BY id DESC",
            sub_id,
            now_us() if now is None else now,
        )
        return tuple(self._box.open(bytes(row["sealed"])) for row in rows)

    async def enabled(self) -> list[Subscription]:
        """Every enabled, live subscription (the relay matches events against them)."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE enabled = TRUE AND deleted_at IS NULL "
            "ORDER BY id"
        )
        return [_subscription(row) for row in rows]

    async def enabled_with_health(self) -> list[tuple[Subscription, Health]]:
        """``enabled()`` with each one's health, in one query (the relay's per-job read)."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS}, consecutive_failures, failing_since, breaker_open_until "
            "FROM subscriptions WHERE enabled = TRUE AND deleted_at IS NULL ORDER BY id"
        )
        return [(_subscription(row), _health(row)) for row in rows]

    async def health(self, sub_ids: Collection[str]) -> dict[str, Health]:
        """The health of each of ``sub_ids`` that exists."""
        if not sub_ids:
            return {}
        where = Where()
        placeholders = ", ".join(where.param(sub_id) for sub_id in sub_ids)
        rows = await self._db.fetch(
            "SELECT id, consecutive_failures, failing_since, breaker_open_until "
            f"FROM subscriptions WHERE id IN ({placeholders})",
            *where.args,
        )
        return {row["id"]: _health(row) for row in rows}

    async def note_successes(self, sub_ids: Collection[str]) -> int:
        """Their endpoints answered: clear failure counts and breakers; how many changed."""
        if not sub_ids:
            return 0
        where = Where()
        placeholders = ", ".join(where.param(sub_id) for sub_id in sub_ids)
        return await self._db.execute(
            "UPDATE subscriptions SET consecutive_failures = 0, failing_since = NULL, "
            f"breaker_open_until = NULL WHERE id IN ({placeholders}) "
            "AND (consecutive_failures > 0 OR failing_since IS NOT NULL "
            "OR breaker_open_until IS NOT NULL)",
            *where.args,
        )

    async def note_failure(self, sub_id: str, now: int | None = None) -> Health:
        """Count one more consecutive failure; the health after it."""
        at = now_us() if now is None else now
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(
                "UPDATE subscriptions SET consecutive_failures = consecutive_failures + 1, "
                "failing_since = COALESCE(failing_since, $1) WHERE id = $2 "
                "RETURNING consecutive_failures, failing_since, breaker_open_until",
                at,
                sub_id,
            )
        if row is None:
            raise NotFoundError(f"no subscription {sub_id}")
        return _health(row)

    async def open_breaker(self, sub_id: str, until: int) -> None:
        """Hold the subscription's deliveries back until ``until``."""
        await self._db.execute(
            "UPDATE subscriptions SET breaker_open_until = $1 WHERE id = $2", until, sub_id
        )

    async def claim_probe(self, sub_id: str, until: int, now: int | None = None) -> bool:
        """Whether the caller may send the half-open probe: true for exactly one caller
        once the breaker's cooldown is over; the breaker then stays open until ``until``
        for everyone else."""
        return bool(
            await self._db.execute(
                "UPDATE subscriptions SET breaker_open_until = $1 "
                "WHERE id = $2 AND breaker_open_until IS NOT NULL AND breaker_open_until <= $3",
                until,
                sub_id,
                now_us() if now is None else now,
            )
        )

    async def disable(self, sub_id: str, reason: str, now: int | None = None) -> bool:
        """Disable an enabled subscription with ``reason`` and cancel its pending deliveries.

        Its health is reset, so re-enabling it starts afresh. True only for the call that
        disabled it (the relay announces it once).
        """
        at = now_us() if now is None else now
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE subscriptions SET enabled = FALSE, disabled_reason = $1, "
                "consecutive_failures = 0, failing_since = NULL, breaker_open_until = NULL, "
                "updated_at = $2 WHERE id = $3 AND enabled = TRUE AND deleted_at IS NULL",
                bounded("description", reason),
                at,
                sub_id,
            )
            if changed:
                await tx.execute(
                    "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, "
                    "lease_until = NULL, updated_at = $1 "
                    "WHERE subscription_id = $2 AND status = 'pending'",
                    at,
                    sub_id,
                )
        return bool(changed)
