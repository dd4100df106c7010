"""The ``deliveries`` and ``attempts`` tables: the relay's source of truth.

A delivery is ``pending`` until an attempt succeeds (``succeeded``) or the relay
gives up (``failed``) or its target goes away (``cancelled``). A worker *claims* due
deliveries by setting a lease; if it dies, the lease runs out and the sweeper claims
them again — at least once, never lost.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import orjson

from core.clock import now_us
from core.ids import new_id
from storage.database import Connection, Database, Row
from storage.errors import NotFoundError
from storage.fields import bounded
from storage.query import (
    Where,
    add_time_range,
    clamp_limit,
    decode_cursor,
    fetch_page,
    to_page,
)
from storage.records import Attempt, Delivery, Outcome, Page, Target

_COLUMNS = (
    "id, event_id, subscription_id, target, status, attempt_count, next_attempt_at, "
    "last_status_code, created_at, updated_at"
)
RESPONSE_BODY_LIMIT = 4096


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=row["id"],
        event_id=row["event_id"],
        subscription_id=row["subscription_id"],
        target=row["target"],
        status=row["status"],
        attempt_count=row["attempt_count"],
        next_attempt_at=row["next_attempt_at"],
        last_status_code=row["last_status_code"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _attempt(row: Row) -> Attempt:
    response_headers = row["response_headers"]
    body = row["response_body"]
    return Attempt(
        id=row["id"],
        delivery_id=row["delivery_id"],
        number=row["number"],
        started_at=row["started_at"],
        duration_ms=row["duration_ms"],
        request_headers=orjson.loads(row["request_headers"]),
        response_status=row["response_status"],
        response_headers=None if response_headers is None else orjson.loads(response_headers),
        response_body=None if body is None else bytes(body),
        error=row["error"],
        error_detail=row["error_detail"],
    )


class Deliveries:
    """Creating, claiming and recording deliveries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def dispatch(
        self, event_id: str, targets: Sequence[Target], *, lease_s: float | None = None
    ) -> list[Delivery] | None:
        """Create the event's deliveries, once: None if it was already dispatched.

        With ``lease_s`` the new deliveries are leased to the caller, which is about to
        attempt them, so the sweeper does not claim them meanwhile.
        """
        now = now_us()
        async with self._db.transaction() as tx:
            claimed = await tx.execute(
                "UPDATE events SET dispatched_at = $1 WHERE id = $2 AND dispatched_at IS NULL",
                now,
                event_id,
            )
            if not claimed:
                return None
            return await self._insert(tx, event_id, targets, now, lease_s)

    async def create(
        self, event_id: str, targets: Sequence[Target], *, lease_s: float | None = None
    ) -> list[Delivery]:
        """Fresh deliveries of an already dispatched event (a replay), due now."""
        async with self._db.transaction() as tx:
            return await self._insert(tx, event_id, targets, now_us(), lease_s)

    async def dispatch_many(
        self, plans: Sequence[tuple[str, Sequence[Target]]], *, lease_s: float | None = None
    ) -> dict[str, list[Delivery]]:
        """``dispatch`` for several events in one transaction (one commit for a batch).

        The answer maps each event dispatched by this call to its deliveries; events
        already dispatched, or unknown, are left out.
        """
        targets = dict(plans)
        if not targets:
            return {}
        now = now_us()
        where = Where()
        placeholders = _placeholders(where, targets)
        async with self._db.transaction() as tx:
            claimed = await tx.fetch(
                f"UPDATE events SET dispatched_at = {where.param(now)} "
                f"WHERE id IN ({placeholders}) AND dispatched_at IS NULL RETURNING id",
                *where.args,
            )
            created = {
                row["id"]: _new_deliveries(row["id"], targets[row["id"]], now)
                for row in sorted(claimed, key=lambda row: str(row["id"]))
            }
            await self._insert_rows(tx, [d for batch in created.values() for d in batch], lease_s)
            return created

    async def _insert(
        self,
        tx: Connection,
        event_id: str,
        targets: Sequence[Target],
        now: int,
        lease_s: float | None,
    ) -> list[Delivery]:
        deliveries = _new_deliveries(event_id, targets, now)
        await self._insert_rows(tx, deliveries, lease_s)
        return deliveries

    @staticmethod
    async def _insert_rows(
        tx: Connection, deliveries: Sequence[Delivery], lease_s: float | None
    ) -> None:
        """One ``executemany`` for every new delivery (one hop to the database)."""
        if not deliveries:
            return
        await tx.executemany(
            "INSERT INTO deliveries (id, event_id, subscription_id, target, status, "
            "attempt_count, next_attempt_at, lease_until, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $5, $5)",
            [
                (
                    d.id,
                    d.event_id,
                    d.subscription_id,
                    d.target,
                    d.created_at,
                    None if lease_s is None else d.created_at + int(lease_s * 1_000_000),
                )
                for d in deliveries
            ],
        )

    async def get(self, delivery_id: str, owner_id: str | None = None) -> Delivery:
        """The delivery; ``NotFoundError`` if absent or not behind ``owner_id``'s subscription."""
        where = Where().add("d.id = {}", delivery_id).add("s.owner_id = {}", owner_id)
        row = await self._db.fetchrow(
            f"SELECT {_prefixed('d')} FROM deliveries d "
            f"LEFT JOIN subscriptions s ON s.id = d.subscription_id{where.sql()}",
            *where.args,
        )
        if row is None:
            raise NotFoundError(f"no delivery {delivery_id}")
        return _delivery(row)

    async def page(
        self,
        *,
        status: str | None = None,
        subscription_id: str | None = None,
        event_id: str | None = None,
        since: int | None = None,
        until: int | None = None,
        owner_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Delivery]:
        """Deliveries newest first, filtered; ``owner_id`` keeps that owner's only."""
        where = (
            Where()
            .add("d.status = {}", status)
            .add("d.subscription_id = {}", subscription_id)
            .add("d.event_id = {}", event_id)
        )
        add_time_range(
            where,
            id_column="d.id",
            time_column="d.created_at",
            prefix="dlv",
            since=since,
            until=until,
        )
        if owner_id is not None and self._db.dialect.name == "postgresql":
            return await self._owner_page(where, owner_id, limit, cursor)
        join = ""
        if owner_id is not None:
            join = " JOIN subscriptions s ON s.id = d.subscription_id"
            where.add("s.owner_id = {}", owner_id)
        return await fetch_page(
            self._db,
            f"SELECT {_prefixed('d')} FROM deliveries d{join}",
            where,
            id_column="d.id",
            limit=limit,
            cursor=cursor,
            convert=_delivery,
        )

    async def _owner_page(
        self, where: Where, owner_id: str, limit: int | None, cursor: str | None
    ) -> Page[Delivery]:
        """``page`` for one owner on PostgreSQL: the newest of each of its subscriptions
        (an index range each), merged. A plain join walks the whole table newest first
        for an owner whose endpoints are quiet: the planner cannot tell whose they are."""
        size = clamp_limit(limit)
        if cursor is not None:
            where.add("d.id < {}", decode_cursor(cursor))
        where.clauses.append("d.subscription_id = s.id")
        owner = where.param(owner_id)
        rows = await self._db.fetch(
            f"SELECT p.* FROM subscriptions s CROSS JOIN LATERAL "
            f"(SELECT {_prefixed('d')} FROM deliveries d{where.sql()} "
            f"ORDER BY d.id DESC LIMIT {size + 1}) p "
            f"WHERE s.owner_id = {owner} ORDER BY p.id DESC LIMIT {size + 1}",
            *where.args,
        )
        return to_page(rows, size, _delivery)

    async def claim_due(
        self, lease_s: float, limit: int = 100, now: int | None = None
    ) -> list[Delivery]:
        """Lease up to ``limit`` pending deliveries that are due and not leased.

        Two workers never get the same row: PostgreSQL skips rows another
        transaction has locked; SQLite has one writer at a time.
        """
        at = now_us() if now is None else now
        rows = await self._claim(at, at + int(lease_s * 1_000_000), limit)
        return [_delivery(row) for row in rows]

    async def _claim(self, at: int, lease_until: int, limit: int) -> list[Row]:
        # A MATERIALIZED CTE runs the locking SELECT exactly once; inside `IN (…)` the
        # planner may re-run it and hand the same row to two workers.
        async with self._db.transaction() as tx:
            return await tx.fetch(
                "WITH due AS MATERIALIZED (SELECT id FROM deliveries WHERE status = 'pending' "
                "AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2) "
                f"ORDER BY next_attempt_at LIMIT {int(limit)} {self._db.dialect.skip_locked}) "
                "UPDATE deliveries SET lease_until = $1 FROM due WHERE deliveries.id = due.id "
                f"RETURNING {_prefixed('deliveries')}",
                lease_until,
                at,
            )

    async def record(self, delivery_id: str, outcome: Outcome) -> Delivery:
        """Store one attempt and move the delivery to ``outcome.status``, releasing its lease."""
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(
                "UPDATE deliveries SET attempt_count = attempt_count + 1, status = $1, "
                "next_attempt_at = $2, lease_until = NULL, last_status_code = $3, updated_at = $4 "
                f"WHERE id = $5 RETURNING {_COLUMNS}",
                outcome.status,
                outcome.next_attempt_at,
                outcome.response_status,
                now_us(),
                delivery_id,
            )
            if row is None:
                raise NotFoundError(f"no delivery {delivery_id}")
            await tx.execute(
                _INSERT_ATTEMPT, *_attempt_values(delivery_id, row["attempt_count"], outcome)
            )
        return _delivery(row)

    async def record_many(self, outcomes: Sequence[tuple[str, Outcome]]) -> list[Delivery | None]:
        """Store several attempts in one transaction (the relay group-commits them).

        Each attempt is stored and counted. Unlike ``record``, only a delivery still
        ``pending`` takes ``outcome.status``: one cancelled meanwhile, or finished by
        another attempt after its lease ran out, keeps its status. The answer is
        aligned with ``outcomes``; None where the delivery does not exist.

        However many attempts, it costs four round trips: the deliveries are updated by
        one ``UPDATE … FROM`` over the batch and the attempts inserted by one
        ``executemany`` (a delivery twice in a batch is updated in a second round).
        """
        now = now_us()
        updated: list[Delivery | None] = [None] * len(outcomes)
        attempts: list[tuple[object, ...]] = []
        async with self._db.transaction() as tx:
            for round_ in _rounds(outcomes):
                rows = await self._update_batch(tx, [outcomes[i] for i in round_], now)
                for index in round_:
                    delivery_id, outcome = outcomes[index]
                    row = rows.get(delivery_id)
                    if row is not None:
                        updated[index] = _delivery(row)
                        attempts.append(_attempt_values(delivery_id, row["attempt_count"], outcome))
            if attempts:
                await tx.executemany(_INSERT_ATTEMPT, attempts)
        return updated

    @staticmethod
    async def _update_batch(
        tx: Connection, outcomes: Sequence[tuple[str, Outcome]], now: int
    ) -> dict[str, Row]:
        """One statement moving each delivery (distinct ids) to its outcome."""
        where = Where()
        batch = " UNION ALL ".join(
            f"SELECT CAST({where.param(delivery_id)} AS TEXT) AS id, "
            f"CAST({where.param(outcome.status)} AS TEXT) AS status, "
            f"CAST({where.param(outcome.next_attempt_at)} AS BIGINT) AS next_at, "
            f"CAST({where.param(outcome.response_status)} AS INTEGER) AS code"
            for delivery_id, outcome in outcomes
        )
        rows = await tx.fetch(
            "UPDATE deliveries SET attempt_count = deliveries.attempt_count + 1, "
            "status = CASE WHEN deliveries.status = 'pending' THEN v.status "
            "ELSE deliveries.status END, "
            "next_attempt_at = CASE WHEN deliveries.status = 'pending' THEN v.next_at "
            "ELSE deliveries.next_attempt_at END, lease_until = NULL, "
            "last_status_code = CASE WHEN deliveries.status = 'pending' THEN v.code "
            f"ELSE deliveries.last_status_code END, updated_at = {where.param(now)} "
            f"FROM ({batch}) AS v WHERE deliveries.id = v.id "
            f"RETURNING {_prefixed('deliveries')}",
            *where.args,
        )
        return {row["id"]: row for row in rows}

    async def claim(
        self, delivery_ids: Collection[str], lease_s: float, now: int | None = None
    ) -> list[Delivery]:
        """``claim_due`` restricted to ``delivery_ids``: lease those pending, due and not
        leased by anyone else. Safe to call for ids another worker holds: they are left out.
        """
        if not delivery_ids:
            return []
        at = now_us() if now is None else now
        where = Where()
        placeholders = _placeholders(where, delivery_ids)
        async with self._db.transaction() as tx:
            rows = await tx.fetch(
                f"UPDATE deliveries SET lease_until = {where.param(at + int(lease_s * 1_000_000))} "
                f"WHERE id IN ({placeholders}) AND status = 'pending' "
                f"AND next_attempt_at <= {where.param(at)} "
                f"AND (lease_until IS NULL OR lease_until <= {where.param(at)}) "
                f"RETURNING {_COLUMNS}",
                *where.args,
            )
        return sorted((_delivery(row) for row in rows), key=lambda d: d.id)

    async def postpone(self, delivery_ids: Collection[str], until: int) -> int:
        """Make pending deliveries wait until ``until`` without counting an attempt.

        Their lease is released. The answer is how many were postponed.
        """
        return await self._update_pending(
            delivery_ids, "next_attempt_at = {at}, lease_until = NULL, updated_at = {now}", until
        )

    async def release(self, delivery_ids: Collection[str]) -> int:
        """Give up the lease of pending deliveries (a worker shutting down) so any
        worker may claim them at once; how many were released."""
        return await self._update_pending(delivery_ids, "lease_until = NULL", None)

    async def cancel(self, delivery_ids: Collection[str]) -> int:
        """Cancel pending deliveries (their target was disabled or deleted); how many."""
        if not delivery_ids:
            return 0
        return await cancel_pending(self._db, now_us(), delivery_ids=delivery_ids)

    async def _update_pending(
        self, delivery_ids: Collection[str], assignments: str, at: int | None
    ) -> int:
        if not delivery_ids:
            return 0
        where = Where()
        placeholders = _placeholders(where, delivery_ids)
        # Only the parameters the assignments use: PostgreSQL rejects unused ones.
        sql_set = assignments.format(
            at=where.param(at) if "{at}" in assignments else "",
            now=where.param(now_us()) if "{now}" in assignments else "",
        )
        return await self._db.execute(
            f"UPDATE deliveries SET {sql_set} WHERE id IN ({placeholders}) AND status = 'pending'",
            *where.args,
        )

    async def expedite(self, subscription_id: str, not_after: int, now: int | None = None) -> int:
        """Make due now the subscription's pending deliveries waiting until ``not_after``
        at the latest (those held back by its circuit breaker); how many."""
        at = now_us() if now is None else now
        return await self._db.execute(
            "UPDATE deliveries SET next_attempt_at = $1, updated_at = $1 "
            "WHERE subscription_id = $2 AND status = 'pending' "
            "AND next_attempt_at > $1 AND next_attempt_at <= $3",
            at,
            subscription_id,
            not_after,
        )

    async def due_count(self, now: int | None = None) -> int:
        """How many pending deliveries are due (the backlog a worker should see shrink)."""
        row = await self._db.fetchrow(
            "SELECT COUNT(*) AS due FROM deliveries "
            "WHERE status = 'pending' AND next_attempt_at <= $1",
            now_us() if now is None else now,
        )
        return 0 if row is None else int(row["due"])

    async def attempts(self, delivery_id: str) -> list[Attempt]:
        """Every attempt of the delivery, first to last."""
        rows = await self._db.fetch(
            "SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY number", delivery_id
        )
        return [_attempt(row) for row in rows]

    async def retry(self, delivery_id: str) -> Delivery:
        """Make a finished or waiting delivery due now (an operator's retry)."""
        now = now_us()
        changed = await self._db.execute(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, lease_until = NULL, "
            "updated_at = $1 WHERE id = $2",
            now,
            delivery_id,
        )
        if not changed:
            raise NotFoundError(f"no delivery {delivery_id}")
        return await self.get(delivery_id)


async def cancel_pending(
    conn: Connection,
    now: int,
    *,
    subscription_id: str | None = None,
    delivery_ids: Collection[str] = (),
) -> int:
    """The one statement that cancels pending deliveries: those of ``subscription_id``
    (deleted or disabled) or those in ``delivery_ids`` (their target is gone). They get
    no next attempt and their lease is released; how many were cancelled."""
    where = Where().add("subscription_id = {}", subscription_id)
    if delivery_ids:
        where.clauses.append(f"id IN ({_placeholders(where, delivery_ids)})")
    if not where.clauses:
        raise ValueError("cancel_pending needs a subscription or delivery ids")
    where.clauses.append("status = 'pending'")
    return await conn.execute(
        "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, "
        f"lease_until = NULL, updated_at = {where.param(now)}{where.sql()}",
        *where.args,
    )


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))


def _placeholders(where: Where, values: Collection[str]) -> str:
    """``$n, $n+1, …`` for ``values``, added to ``where``'s parameters."""
    return ", ".join(where.param(value) for value in values)


_INSERT_ATTEMPT = (
    "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, "
    "request_headers, response_status, response_headers, response_body, error, "
    "error_detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)


def _attempt_values(delivery_id: str, number: int, outcome: Outcome) -> tuple[object, ...]:
    """The ``attempts`` row for ``outcome``, the delivery's attempt ``number``."""
    return (
        new_id("att"),
        delivery_id,
        number,
        outcome.started_at,
        outcome.duration_ms,
        orjson.dumps(outcome.request_headers).decode(),
        outcome.response_status,
        None
        if outcome.response_headers is None
        else orjson.dumps(outcome.response_headers).decode(),
        None if outcome.response_body is None else outcome.response_body[:RESPONSE_BODY_LIMIT],
        outcome.error,
        outcome.error_detail,
    )


def _new_deliveries(event_id: str, targets: Sequence[Target], now: int) -> list[Delivery]:
    """The pending deliveries of ``event_id`` to ``targets``, due ``now``."""
    return [
        Delivery(
            id=new_id("dlv"),
            event_id=event_id,
            subscription_id=target.subscription_id,
            target=bounded("target", target.target),
            status="pending",
            attempt_count=0,
            next_attempt_at=now,
            last_status_code=None,
            created_at=now,
            updated_at=now,
        )
        for target in targets
    ]


def _rounds(outcomes: Sequence[tuple[str, Outcome]]) -> list[list[int]]:
    """Indexes of ``outcomes`` in rounds where each delivery appears at most once."""
    rounds: list[list[int]] = []
    seen: list[set[str]] = []
    for index, (delivery_id, _) in enumerate(outcomes):
        for number, ids in enumerate(seen):
            if delivery_id not in ids:
                ids.add(delivery_id)
                rounds[number].append(index)
                break
        else:
            seen.append({delivery_id})
            rounds.append([index])
    return rounds
