"""The ``deliveries`` and ``attempts`` tables: the relay's source of truth.

A delivery is ``pending`` until an attempt succeeds (``succeeded``) or the relay
gives up (``failed``) or its target goes away (``cancelled``). A worker *claims* due
deliveries by setting a lease; if it dies, the lease runs out and the sweeper claims
them again — at least once, never lost.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from core.ids import new_id
from storage.database import Connection, Database, Row
from storage.errors import NotFoundError
from storage.fields import bounded
from storage.query import Where, fetch_page
from storage.records import Attempt, Delivery, DeliveryStatus, Page

_COLUMNS = (
    "id, event_id, subscription_id, target, status, attempt_count, next_attempt_at, "
    "last_status_code, created_at, updated_at"
)
RESPONSE_BODY_LIMIT = 4096


def _now() -> int:
    return time.time_ns() // 1000


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


@dataclass(frozen=True, slots=True)
class Target:
    """Where one delivery of an event goes."""

    subscription_id: str | None
    target: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one attempt and what it means for the delivery."""

    started_at: int
    duration_ms: float
    request_headers: dict[str, str]
    response_status: int | None
    response_headers: dict[str, str] | None
    response_body: bytes | None
    error: str | None
    error_detail: str | None
    status: DeliveryStatus
    next_attempt_at: int | None


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
        now = _now()
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
            return await self._insert(tx, event_id, targets, _now(), lease_s)

    @staticmethod
    async def _insert(
        tx: Connection, event_id: str, targets: Sequence[Target], now: int, lease_s: float | None
    ) -> list[Delivery]:
        lease_until = None if lease_s is None else now + int(lease_s * 1_000_000)
        deliveries = [
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
        await tx.executemany(
            "INSERT INTO deliveries (id, event_id, subscription_id, target, status, "
            "attempt_count, next_attempt_at, lease_until, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $5, $5)",
            [(d.id, event_id, d.subscription_id, d.target, now, lease_until) for d in deliveries],
        )
        return deliveries

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
            .add("d.created_at >= {}", since)
            .add("d.created_at < {}", until)
            .add("s.owner_id = {}", owner_id)
        )
        join = " LEFT JOIN subscriptions s ON s.id = d.subscription_id" if owner_id else ""
        return await fetch_page(
            self._db,
            f"SELECT {_prefixed('d')} FROM deliveries d{join}",
            where,
            id_column="d.id",
            limit=limit,
            cursor=cursor,
            convert=_delivery,
        )

    async def claim_due(
        self, lease_s: float, limit: int = 100, now: int | None = None
    ) -> list[Delivery]:
        """Lease up to ``limit`` pending deliveries that are due and not leased.

        Two workers never get the same row: PostgreSQL skips rows another
        transaction has locked; SQLite has one writer at a time.
        """
        at = _now() if now is None else now
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
                _now(),
                delivery_id,
            )
            if row is None:
                raise NotFoundError(f"no delivery {delivery_id}")
            await tx.execute(
                "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, "
                "request_headers, response_status, response_headers, response_body, error, "
                "error_detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                new_id("att"),
                delivery_id,
                row["attempt_count"],
                outcome.started_at,
                outcome.duration_ms,
                orjson.dumps(outcome.request_headers).decode(),
                outcome.response_status,
                None
                if outcome.response_headers is None
                else orjson.dumps(outcome.response_headers).decode(),
                None
                if outcome.response_body is None
                else outcome.response_body[:RESPONSE_BODY_LIMIT],
                outcome.error,
                outcome.error_detail,
            )
        return _delivery(row)

    async def attempts(self, delivery_id: str) -> list[Attempt]:
        """Every attempt of the delivery, first to last."""
        rows = await self._db.fetch(
            "SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY number", delivery_id
        )
        return [_attempt(row) for row in rows]

    async def retry(self, delivery_id: str) -> Delivery:
        """Make a finished or waiting delivery due now (an operator's retry)."""
        now = _now()
        changed = await self._db.execute(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, lease_until = NULL, "
            "updated_at = $1 WHERE id = $2",
            now,
            delivery_id,
        )
        if not changed:
            raise NotFoundError(f"no delivery {delivery_id}")
        return await self.get(delivery_id)


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))
