"""The ``deliveries`` table: the relay's source of truth.

A delivery is ``pending`` until an attempt succeeds (``succeeded``) or the relay
gives up (``failed``) or its target goes away (``cancelled``). A worker *claims* due
deliveries by setting a lease; if it dies, the lease runs out and the sweeper claims
them again — at least once, never lost. Each try is an attempt (``storage.attempts``,
which moves the delivery to its outcome with ``apply_outcomes``).

**Ordered (fifo) subscriptions** are kept in order here, in storage, not in any
worker's memory, so the order holds across any number of workers and through their
crashes. A subscription's deliveries stand in a *line* ordered by their event's
``received_at``, then the event id, then the delivery id (``received_at`` is copied
onto the delivery when it is created, and ``deliveries_line`` indexes the pending
part of each line). A delivery of a fifo subscription may be leased only while it is
the *head* of its line (``_HEAD``):

- no delivery of the same subscription earlier in the line is ``pending`` — one
  waiting for its retry, postponed by the breaker, or leased to a worker that may have
  died holds everything behind it until it succeeds, fails for good or is cancelled;
- no event received before it is still undispatched: a dispatch job lost with a
  killed worker, or running in another worker's uncommitted transaction, may yet
  create a delivery that goes in front.

Every path that leases checks it, in the statement that leases: ``claim_due`` (the
sweeper), ``claim`` (the ``deliver`` job) and ``claim_heads`` (the worker that just
finished a head hands on to the next); ``create`` with a lease (the dispatcher) leases
a new fifo delivery only if it is the head, and leaves the others out of its answer
for whoever finishes the one in front. Only the head is ever leased, and a lease goes
to one worker at a time, so a line's deliveries are attempted one at a time, in order.
An operator's retry (``retry``, or a bulk retry) puts a finished delivery back in its
line at its event's place: it becomes the head again, and the deliveries behind it
that are still pending wait for it; those already sent stay sent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from core.clock import Clock, now_us
from core.ids import new_id
from storage.database import Connection, Database, Row
from storage.errors import NotFoundError
from storage.events import claim_dispatch
from storage.fields import bounded
from storage.query import (
    Where,
    add_time_range,
    clamp_limit,
    decode_cursor,
    fetch_page,
    to_page,
)
from storage.records import DELIVERY_STATUSES, Delivery, Outcome, Page, Target
from storage.retries import retry_now

_COLUMNS = (
    "id, event_id, subscription_id, target, status, attempt_count, next_attempt_at, "
    "last_status_code, created_at, updated_at"
)
Plan = tuple[str, Sequence[Target]]
# Whether the ``deliveries`` row aliased ``d`` may be leased: it is not a fifo
# subscription's, or it heads its line (see the module docstring). Both probes are one
# index lookup (``deliveries_line``, ``events_undispatched_received``).
_HEAD = (
    "NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = d.subscription_id "
    "AND s.ordering = 'fifo' AND ("
    "EXISTS (SELECT 1 FROM deliveries p WHERE p.subscription_id = d.subscription_id "
    "AND p.status = 'pending' "
    "AND (p.received_at, p.event_id, p.id) < (d.received_at, d.event_id, d.id)) "
    "OR EXISTS (SELECT 1 FROM events u WHERE u.dispatched_at IS NULL "
    "AND (u.received_at, u.id) < (d.received_at, d.event_id))))"
)


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


class Deliveries:
    """Creating, claiming and moving deliveries."""

    def __init__(self, db: Database, *, clock: Clock = now_us) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self, plans: Sequence[Plan], *, first_dispatch: bool, lease_s: float | None = None
    ) -> dict[str, list[Delivery]]:
        """Create the deliveries of each ``(event_id, targets)`` plan, in one transaction.

        ``first_dispatch`` (the relay fanning out a new event): only events not yet
        dispatched get deliveries, so a re-run, a duplicate job or a sweeper re-drive is
        a no-op; the answer leaves out the others (and unknown events). Otherwise (a
        replay, a test event) every plan's deliveries are created. Either way each event
        is marked dispatched if it was not, so the sweeper never fans it out again.

        The deliveries are due now; with ``lease_s`` they are leased to the caller, which
        is about to attempt them, so the sweeper does not claim them meanwhile — except a
        fifo subscription's that is not the head of its line: it is created unleased and
        left out of the answer (whoever finishes the one in front takes it). An event
        planned twice gets the targets of its last plan.
        """
        async with self._db.transaction() as tx:
            return await create_planned(
                tx, plans, self._clock(), first_dispatch=first_dispatch, lease_s=lease_s
            )

    @staticmethod
    async def _insert_rows(
        tx: Connection, deliveries: Sequence[Delivery], lease_s: float | None
    ) -> None:
        """One ``executemany`` for every new delivery (one hop to the database)."""
        if not deliveries:
            return
        await tx.executemany(
            "INSERT INTO deliveries (id, event_id, subscription_id, target, status, "
            "attempt_count, next_attempt_at, lease_until, created_at, updated_at, received_at) "
            "VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $5, $5, "
            "(SELECT e.received_at FROM events e WHERE e.id = $2))",
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
        """Lease up to ``limit`` pending deliveries that are due and not leased (of a
        fifo subscription, only the head of its line).

        Two workers never get the same row: PostgreSQL skips rows another
        transaction has locked; SQLite has one writer at a time.
        """
        at = self._clock() if now is None else now
        rows = await self._claim(at, at + int(lease_s * 1_000_000), limit)
        return [_delivery(row) for row in rows]

    async def claim_heads(
        self, subscription_ids: Collection[str], lease_s: float, now: int | None = None
    ) -> list[Delivery]:
        """Lease the head of each fifo subscription's line in ``subscription_ids`` if it
        is due and not leased (the worker that just finished the one in front)."""
        if not subscription_ids:
            return []
        at = self._clock() if now is None else now
        rows = await self._claim(
            at, at + int(lease_s * 1_000_000), len(subscription_ids), subscription_ids
        )
        return [_delivery(row) for row in rows]

    async def _claim(
        self, at: int, lease_until: int, limit: int, subscription_ids: Collection[str] = ()
    ) -> list[Row]:
        # A MATERIALIZED CTE runs the locking SELECT exactly once; inside `IN (…)` the
        # planner may re-run it and hand the same row to two workers.
        where = Where()
        until, now = where.param(lease_until), where.param(at)
        among = ""
        if subscription_ids:
            among = f"AND d.subscription_id IN ({where.params(subscription_ids)}) "
        async with self._db.transaction() as tx:
            return await tx.fetch(
                "WITH due AS MATERIALIZED (SELECT d.id FROM deliveries d "
                f"WHERE d.status = 'pending' {among}AND d.next_attempt_at <= {now} "
                f"AND (d.lease_until IS NULL OR d.lease_until <= {now}) AND {_HEAD} "
                f"ORDER BY d.next_attempt_at LIMIT {int(limit)} {self._db.dialect.skip_locked}) "
                f"UPDATE deliveries SET lease_until = {until} FROM due "
                f"WHERE deliveries.id = due.id RETURNING {_prefixed('deliveries')}",
                *where.args,
            )

    async def claim(
        self, delivery_ids: Collection[str], lease_s: float, now: int | None = None
    ) -> list[Delivery]:
        """``claim_due`` restricted to ``delivery_ids``: lease those pending, due and not
        leased by anyone else. Safe to call for ids another worker holds: they are left out.
        """
        if not delivery_ids:
            return []
        at = self._clock() if now is None else now
        where = Where()
        placeholders = where.params(delivery_ids)
        async with self._db.transaction() as tx:
            rows = await tx.fetch(
                f"UPDATE deliveries AS d "
                f"SET lease_until = {where.param(at + int(lease_s * 1_000_000))} "
                f"WHERE d.id IN ({placeholders}) AND d.status = 'pending' "
                f"AND d.next_attempt_at <= {where.param(at)} "
                f"AND (d.lease_until IS NULL OR d.lease_until <= {where.param(at)}) "
                f"AND {_HEAD} RETURNING {_COLUMNS}",
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
        return await cancel_pending(self._db, self._clock(), delivery_ids=delivery_ids)

    async def _update_pending(
        self, delivery_ids: Collection[str], assignments: str, at: int | None
    ) -> int:
        if not delivery_ids:
            return 0
        where = Where()
        placeholders = where.params(delivery_ids)
        # Only the parameters the assignments use: PostgreSQL rejects unused ones.
        sql_set = assignments.format(
            at=where.param(at) if "{at}" in assignments else "",
            now=where.param(self._clock()) if "{now}" in assignments else "",
        )
        return await self._db.execute(
            f"UPDATE deliveries SET {sql_set} WHERE id IN ({placeholders}) AND status = 'pending'",
            *where.args,
        )

    async def expedite(self, subscription_id: str, not_after: int, now: int | None = None) -> int:
        """Make due now the subscription's pending deliveries waiting until ``not_after``
        at the latest (those held back by its circuit breaker); how many."""
        at = self._clock() if now is None else now
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
            self._clock() if now is None else now,
        )
        return 0 if row is None else int(row["due"])

    async def count_by_event(
        self, event_ids: Collection[str], owner_id: str | None = None
    ) -> dict[str, int]:
        """How many deliveries each of ``event_ids`` has (``owner_id``: to that owner's
        subscriptions only), in one query over the ``deliveries_event`` index."""
        if not event_ids:
            return {}
        where = Where()
        placeholders = ", ".join(where.param(event_id) for event_id in event_ids)
        join = ""
        if owner_id is not None:
            join = " JOIN subscriptions s ON s.id = d.subscription_id"
            where.add("s.owner_id = {}", owner_id)
        where.clauses.insert(0, f"d.event_id IN ({placeholders})")
        rows = await self._db.fetch(
            f"SELECT d.event_id, COUNT(*) AS n FROM deliveries d{join}{where.sql()} "
            "GROUP BY d.event_id",
            *where.args,
        )
        return {row["event_id"]: int(row["n"]) for row in rows}

    async def retry(self, delivery_id: str) -> Delivery:
        """Make a finished or waiting delivery due now (an operator's retry)."""
        changed = await retry_now(self._db, [delivery_id], DELIVERY_STATUSES, self._clock())
        if not changed:
            raise NotFoundError(f"no delivery {delivery_id}")
        return await self.get(delivery_id)


async def _unlease_behind(tx: Connection, delivery_ids: Collection[str]) -> set[str]:
    """Release the lease of those of ``delivery_ids`` (new, leased, of fifo
    subscriptions) that are not the head of their line; their ids."""
    if not delivery_ids:
        return set()
    where = Where()
    rows = await tx.fetch(
        "UPDATE deliveries AS d SET lease_until = NULL "
        f"WHERE d.id IN ({where.params(delivery_ids)}) AND NOT {_HEAD} RETURNING id",
        *where.args,
    )
    return {row["id"] for row in rows}


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
        where.clauses.append(f"id IN ({where.params(delivery_ids)})")
    if not where.clauses:
        raise ValueError("cancel_pending needs a subscription or delivery ids")
    where.clauses.append("status = 'pending'")
    return await conn.execute(
        "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, "
        f"lease_until = NULL, updated_at = {where.param(now)}{where.sql()}",
        *where.args,
    )


async def apply_outcomes(
    conn: Connection, outcomes: Sequence[tuple[str, Outcome]], now: int
) -> dict[str, Delivery]:
    """Count an attempt on each delivery (distinct ids) and release its lease, in one
    statement; the deliveries after it, by id (an unknown id is left out).

    Only a delivery still ``pending`` takes ``outcome.status``: one cancelled meanwhile,
    or finished by another attempt after its lease ran out, keeps its status.
    """
    where = Where()
    batch = " UNION ALL ".join(
        f"SELECT CAST({where.param(delivery_id)} AS TEXT) AS id, "
        f"CAST({where.param(outcome.status)} AS TEXT) AS status, "
        f"CAST({where.param(outcome.next_attempt_at)} AS BIGINT) AS next_at, "
        f"CAST({where.param(outcome.response_status)} AS INTEGER) AS code"
        for delivery_id, outcome in outcomes
    )
    rows = await conn.fetch(
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
    return {row["id"]: _delivery(row) for row in rows}


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))


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


async def create_planned(
    conn: Connection,
    plans: Sequence[Plan],
    now: int,
    *,
    first_dispatch: bool,
    lease_s: float | None = None,
) -> dict[str, list[Delivery]]:
    """The one place deliveries are created: ``Deliveries.create`` inside the caller's
    transaction ``conn`` (a bulk replay commits them with its job's cursor)."""
    targets = dict(plans)
    if not targets:
        return {}
    claimed = await claim_dispatch(conn, targets, now)
    chosen = sorted(claimed) if first_dispatch else list(targets)
    created = {event_id: _new_deliveries(event_id, targets[event_id], now) for event_id in chosen}
    await Deliveries._insert_rows(conn, [d for batch in created.values() for d in batch], lease_s)
    if lease_s is not None:
        ordered = {
            delivery.id
            for event_id, batch in created.items()
            for delivery, target in zip(batch, targets[event_id], strict=True)
            if target.ordered
        }
        held = await _unlease_behind(conn, ordered)
        created = {
            event_id: [d for d in batch if d.id not in held] for event_id, batch in created.items()
        }
    return created
