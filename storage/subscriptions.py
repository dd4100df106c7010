"""The ``subscriptions`` and ``subscription_secrets`` tables.

Signing secrets are stored sealed (``SecretBox``). A rotation keeps the previous
secret until its ``expires_at`` so deliveries carry both signatures meanwhile.
Static headers carry credentials too (an ``X-Api-Key`` value): the whole map is
stored sealed in the ``headers`` column as ``sealed:`` and base64, with lower-case
names; rows written before that, in plain JSON, are still read (``reencrypt`` seals
them). ``reencrypt`` also moves everything sealed under a previous
``security.secret_key`` under the current one.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

import orjson

from core.clock import Clock, now_us
from core.ids import new_id
from storage.crypto import SecretBox, new_signing_secret
from storage.database import Connection, Database, Row
from storage.deliveries import cancel_pending
from storage.errors import (
    InvalidFieldError,
    NotFoundError,
    SchemaNotReadyError,
    UnreadableSecretError,
)
from storage.fields import bounded, bounded_list, headers_json
from storage.query import Where, fetch_page
from storage.records import (
    ORDERINGS,
    EndpointHealth,
    Health,
    Page,
    RetryPolicy,
    Subscription,
    SubscriptionFields,
)

_SEALED = "sealed:"
_FILTER_BYTES = 16_384
_BUMP_REVISION = "UPDATE revisions SET value = value + 1 WHERE name = 'subscriptions'"
_COLUMNS = (
    "id, owner_id, url, description, sources, event_types, enabled, headers, "
    "rate_limit_per_s, disabled_reason, created_at, updated_at, filter, ordering, retry"
)
# Read with a subscription shown to people (``get``, ``page``), not with the relay's.
_HEALTH_COLUMNS = (
    "consecutive_failures, failing_since, breaker_open_until, last_success_at, last_failure_at"
)


def _health(row: Row) -> Health:
    return Health(
        consecutive_failures=row["consecutive_failures"],
        failing_since=row["failing_since"],
        breaker_open_until=row["breaker_open_until"],
    )


def _endpoint_health(row: Row) -> EndpointHealth:
    return EndpointHealth(_health(row), row["last_success_at"], row["last_failure_at"])


@dataclass(frozen=True, slots=True)
class AttemptTimes:
    """What one recorded batch of attempts says about one subscription's endpoint: the
    start of its latest success and latest failure in the batch, and whether to clear
    its failure count (``clear``: it succeeded and storage holds failures to clear)."""

    subscription_id: str
    last_success_at: int | None
    last_failure_at: int | None
    clear: bool = False


async def note_attempt_times(conn: Connection, times: Collection[AttemptTimes]) -> None:
    """Move each subscription's ``last_success_at``/``last_failure_at`` forward (never
    back: batches of several workers commit in any order) and clear the failure counts
    of those marked ``clear``, in the caller's transaction (``Attempts.record``).

    One ``executemany`` per recorded batch, a row per subscription in it.
    """
    if not times:
        return
    await conn.executemany(
        "UPDATE subscriptions SET "
        "last_success_at = CASE WHEN last_success_at IS NULL OR last_success_at < $2 "
        "THEN $2 ELSE last_success_at END, "
        "last_failure_at = CASE WHEN last_failure_at IS NULL OR last_failure_at < $3 "
        "THEN $3 ELSE last_failure_at END, "
        "consecutive_failures = CASE WHEN $4 THEN 0 ELSE consecutive_failures END, "
        "failing_since = CASE WHEN $4 THEN NULL ELSE failing_since END, "
        "breaker_open_until = CASE WHEN $4 THEN NULL ELSE breaker_open_until END "
        "WHERE id = $1",
        [(t.subscription_id, t.last_success_at, t.last_failure_at, t.clear) for t in times],
    )


def _routing_values(fields: SubscriptionFields) -> tuple[str | None, str, str | None]:
    """The ``filter``, ``ordering`` and ``retry`` columns for ``fields``: JSON as TEXT,
    NULL for no filter (``{}`` too) and for no retry override. The filter's syntax is
    checked above storage (``policy.filters``); storage bounds what it keeps."""
    if fields.ordering not in ORDERINGS:
        raise InvalidFieldError("ordering", f"must be one of {', '.join(ORDERINGS)}")
    filter_text = orjson.dumps(dict(fields.filter)).decode() if fields.filter else None
    if filter_text is not None and len(filter_text.encode()) > _FILTER_BYTES:
        raise InvalidFieldError("filter", f"larger than {_FILTER_BYTES} bytes")
    retry = fields.retry
    retry_text = None
    if retry is not None:
        backoff = {
            name: value
            for name, value in (
                ("initial_s", retry.initial_s),
                ("multiplier", retry.multiplier),
                ("max_s", retry.max_s),
            )
            if value is not None
        }
        shape: dict[str, object] = (
            {} if retry.max_attempts is None else {"max_attempts": retry.max_attempts}
        )
        if backoff:
            shape["backoff"] = backoff
        retry_text = orjson.dumps(shape).decode() if shape else None
    return filter_text, fields.ordering, retry_text


def _retry_policy(stored: str | None) -> RetryPolicy | None:
    """The ``retry`` column as a ``RetryPolicy`` (None: no override)."""
    if stored is None:
        return None
    shape = orjson.loads(stored)
    backoff = shape.get("backoff", {})
    return RetryPolicy(
        max_attempts=shape.get("max_attempts"),
        initial_s=backoff.get("initial_s"),
        multiplier=backoff.get("multiplier"),
        max_s=backoff.get("max_s"),
    )


def _static_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with lower-case names; two names differing only in case are refused."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in lowered:
            raise InvalidFieldError("headers", f"{key} is given twice (names ignore case)")
        lowered[key] = value
    return lowered


def _as_text(sealed: bytes) -> str:
    """A sealed header map as the ``headers`` column holds it."""
    return _SEALED + base64.b64encode(sealed).decode()


def _as_sealed(stored: str) -> bytes | None:
    """The sealed bytes in a ``headers`` column value; None for plain JSON."""
    return base64.b64decode(stored[len(_SEALED) :]) if stored.startswith(_SEALED) else None


def _unreadable(sub_id: str) -> UnreadableSecretError:
    return UnreadableSecretError(f"subscription {sub_id} has a secret no configured key can read")


async def count_live(conn: Connection, owner_id: str) -> int:
    """How many subscriptions ``owner_id`` owns that are not deleted (inside the caller's
    transaction: deleting a user refuses while there are any)."""
    row = await conn.fetchrow(
        "SELECT COUNT(*) AS n FROM subscriptions WHERE owner_id = $1 AND deleted_at IS NULL",
        owner_id,
    )
    return 0 if row is None else int(row["n"])


class Subscriptions:
    """Subscriptions, scoped to an owner when one is given (others' rows are not found)."""

    def __init__(self, db: Database, box: SecretBox, *, clock: Clock = now_us) -> None:
        self._db = db
        self._box = box
        self._clock = clock

    def _values(self, fields: SubscriptionFields) -> tuple[object, ...]:
        """Checked column values for ``fields`` (url … rate_limit_per_s)."""
        if fields.rate_limit_per_s is not None and fields.rate_limit_per_s <= 0:
            raise InvalidFieldError("rate_limit_per_s", "must be positive")
        return (
            bounded("url", fields.url),
            bounded("description", fields.description),
            bounded_list("sources", fields.sources),
            bounded_list("event_types", fields.event_types),
            fields.enabled,
            self._sealed_headers(_static_headers(fields.headers)),
            fields.rate_limit_per_s,
        )

    def _sealed_headers(self, headers: Mapping[str, str]) -> str:
        """The ``headers`` column: the map as JSON, sealed, as ``sealed:`` and base64."""
        return _as_text(self._box.seal(headers_json("headers", headers)))

    def _headers(self, sub_id: str, stored: str) -> dict[str, str]:
        """The static headers in a ``headers`` column value."""
        sealed = _as_sealed(stored)
        if sealed is None:
            # Written before static headers were sealed: plain JSON, perhaps in mixed
            # case (``reencrypt`` seals it). A read must not fail, so a name given
            # twice in different cases keeps its last value.
            return {name.lower(): value for name, value in orjson.loads(stored).items()}
        try:
            text = self._box.open(sealed)
        except UnreadableSecretError as e:
            raise _unreadable(sub_id) from e
        headers: dict[str, str] = orjson.loads(text)
        return headers

    def _subscription(self, row: Row) -> Subscription:
        return Subscription(
            id=row["id"],
            owner_id=row["owner_id"],
            fields=SubscriptionFields(
                url=row["url"],
                description=row["description"],
                sources=tuple(orjson.loads(row["sources"])),
                event_types=tuple(orjson.loads(row["event_types"])),
                enabled=bool(row["enabled"]),
                headers=self._headers(row["id"], row["headers"]),
                rate_limit_per_s=row["rate_limit_per_s"],
                filter=None if row["filter"] is None else orjson.loads(row["filter"]),
                ordering=row["ordering"],
                retry=_retry_policy(row["retry"]),
            ),
            disabled_reason=row["disabled_reason"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def _with_health(self, row: Row) -> Subscription:
        return replace(self._subscription(row), health=_endpoint_health(row))

    async def revision(self) -> int:
        """A number that moves with every change event matching would see.

        Create, update (including re-enabling), delete and disable bump it in the
        same transaction as the change, so a reader that sees the new number also
        sees the change: the relay re-reads its subscriptions only when it moved.
        """
        row = await self._db.fetchrow("SELECT value FROM revisions WHERE name = 'subscriptions'")
        if row is None:
            raise SchemaNotReadyError("no subscriptions revision; run `hookgate migrate`")
        return int(row["value"])

    async def create(self, owner_id: str, fields: SubscriptionFields) -> tuple[Subscription, str]:
        """A new subscription and its signing secret (the only time it is seen)."""
        values, now, secret = self._values(fields), self._clock(), new_signing_secret()
        sub_id = new_id("sub")
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO subscriptions ({_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $10, $11, $12, $13)",
                sub_id,
                owner_id,
                *values,
                now,
                *_routing_values(fields),
            )
            await self._add_secret(tx, sub_id, secret, now)
            await tx.execute(_BUMP_REVISION)
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
            f"SELECT {_COLUMNS}, {_HEALTH_COLUMNS} FROM subscriptions{where.sql()}", *where.args
        )
        if row is None:
            raise NotFoundError(f"no subscription {sub_id}")
        return self._with_health(row)

    async def page(
        self, *, owner_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[Subscription]:
        """Live subscriptions newest first, all or ``owner_id``'s."""
        where = Where().add("owner_id = {}", owner_id)
        where.clauses.append("deleted_at IS NULL")
        return await fetch_page(
            self._db,
            f"SELECT {_COLUMNS}, {_HEALTH_COLUMNS} FROM subscriptions",
            where,
            id_column="id",
            limit=limit,
            cursor=cursor,
            convert=self._with_health,
        )

    async def update(
        self, sub_id: str, fields: SubscriptionFields, owner_id: str | None = None
    ) -> Subscription:
        """Replace the owner-chosen fields; re-enabling clears ``disabled_reason``."""
        await self.get(sub_id, owner_id)
        values = self._values(fields)
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE subscriptions SET url = $1, description = $2, sources = $3, "
                "event_types = $4, enabled = $5, headers = $6, rate_limit_per_s = $7, "
                "updated_at = $8, "
                "disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, "
                "filter = $10, ordering = $11, retry = $12 "
                "WHERE id = $9 AND deleted_at IS NULL",
                *values,
                self._clock(),
                sub_id,
                *_routing_values(fields),
            )
            await tx.execute(_BUMP_REVISION)
        return await self.get(sub_id)

    async def delete(self, sub_id: str, owner_id: str | None = None) -> None:
        """Delete (keeping delivery history) and cancel its pending deliveries."""
        await self.get(sub_id, owner_id)
        now = self._clock()
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE subscriptions SET deleted_at = $1, enabled = FALSE, updated_at = $1 "
                "WHERE id = $2",
                now,
                sub_id,
            )
            await cancel_pending(tx, now, subscription_id=sub_id)
            await tx.execute(_BUMP_REVISION)

    async def rotate_secret(self, sub_id: str, grace_s: float, owner_id: str | None = None) -> str:
        """A new signing secret; the current ones stay valid for ``grace_s`` seconds."""
        await self.get(sub_id, owner_id)
        now, secret = self._clock(), new_signing_secret()
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
            self._clock() if now is None else now,
        )
        try:
            return tuple(self._box.open(bytes(row["sealed"])) for row in rows)
        except UnreadableSecretError as e:
            raise _unreadable(sub_id) from e

    async def reencrypt(self, *, batch_size: int = 500) -> int:
        """Seal anew under the current key every signing secret and static header map
        that is not yet under it (sealed under a previous key, or headers still in plain
        JSON); how many it rewrote. Each batch is one transaction, so a failure keeps
        what earlier batches did (all of it readable).

        ``UnreadableSecretError``, naming the subscription, if no configured key can
        read one: nothing is skipped.
        """
        return await self._reencrypt_secrets(batch_size) + await self._reencrypt_headers(batch_size)

    async def _reencrypt_secrets(self, batch_size: int) -> int:
        rewritten, after = 0, ""
        while True:
            async with self._db.transaction() as tx:
                rows = await tx.fetch(
                    "SELECT id, subscription_id, sealed FROM subscription_secrets "
                    "WHERE id > $1 ORDER BY id LIMIT $2",
                    after,
                    batch_size,
                )
                changes = []
                for row in rows:
                    try:
                        resealed = self._box.reseal(bytes(row["sealed"]))
                    except UnreadableSecretError as e:
                        raise _unreadable(row["subscription_id"]) from e
                    if resealed is not None:
                        changes.append((resealed, row["id"]))
                if changes:
                    # A secret's sealed value is never changed otherwise: no race to lose.
                    await tx.executemany(
                        "UPDATE subscription_secrets SET sealed = $1 WHERE id = $2", changes
                    )
            rewritten += len(changes)
            if len(rows) < batch_size:
                return rewritten
            after = rows[-1]["id"]

    async def _reencrypt_headers(self, batch_size: int) -> int:
        rewritten, after = 0, ""
        while True:
            async with self._db.transaction() as tx:
                rows = await tx.fetch(
                    "SELECT id, headers FROM subscriptions WHERE id > $1 ORDER BY id LIMIT $2",
                    after,
                    batch_size,
                )
                for row in rows:
                    resealed = self._resealed_headers(row["id"], row["headers"])
                    if resealed is not None:
                        # Only if unchanged meanwhile: a concurrent update sealed its
                        # headers under the current key already.
                        rewritten += await tx.execute(
                            "UPDATE subscriptions SET headers = $1 WHERE id = $2 AND headers = $3",
                            resealed,
                            row["id"],
                            row["headers"],
                        )
            if len(rows) < batch_size:
                return rewritten
            after = rows[-1]["id"]

    def _resealed_headers(self, sub_id: str, stored: str) -> str | None:
        """``stored`` sealed under the current key, or None if it already is."""
        sealed = _as_sealed(stored)
        if sealed is None:
            return self._sealed_headers(self._headers(sub_id, stored))
        try:
            resealed = self._box.reseal(sealed)
        except UnreadableSecretError as e:
            raise _unreadable(sub_id) from e
        return None if resealed is None else _as_text(resealed)

    async def enabled(self) -> list[Subscription]:
        """Every enabled, live subscription (the relay matches events against them)."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE enabled = TRUE AND deleted_at IS NULL "
            "ORDER BY id"
        )
        return [self._subscription(row) for row in rows]

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

    async def note_failure(self, sub_id: str, now: int | None = None) -> Health:
        """Count one more consecutive failure; the health after it."""
        at = self._clock() if now is None else now
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

    async def open_breakers(self, now: int | None = None) -> int:
        """How many live subscriptions have their breaker open now (the worker's gauge)."""
        row = await self._db.fetchrow(
            "SELECT COUNT(*) AS n FROM subscriptions "
            "WHERE breaker_open_until > $1 AND deleted_at IS NULL",
            self._clock() if now is None else now,
        )
        return 0 if row is None else int(row["n"])

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
                self._clock() if now is None else now,
            )
        )

    async def disable(self, sub_id: str, reason: str, now: int | None = None) -> bool:
        """Disable an enabled subscription with ``reason`` and cancel its pending deliveries.

        Its health is reset, so re-enabling it starts afresh. True only for the call that
        disabled it (the relay announces it once).
        """
        at = self._clock() if now is None else now
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
                await cancel_pending(tx, at, subscription_id=sub_id)
                await tx.execute(_BUMP_REVISION)
        return bool(changed)
