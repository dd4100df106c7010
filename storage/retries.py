"""Which deliveries a bulk retry touches, and making deliveries due again.

A bulk retry (``storage.jobs``, run by ``relay.bulk``) selects deliveries with a
``RetryFilter`` fixed when the job is created — the dry run counts with the same query
the job's batches read — and ``retry_now`` makes them pending and due; the single
retry (``Deliveries.retry``) goes through ``retry_now`` too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from storage.database import Connection
from storage.query import Where, add_time_range
from storage.records import DeliveryStatus


@dataclass(frozen=True, slots=True)
class RetryFilter:
    """The deliveries a bulk retry touches (``storage.jobs``), fixed when it is created.

    ``event_types`` are the types the caller's ``event_type`` pattern matched then
    (None: any type); ``owner_id`` keeps deliveries to that user's subscriptions only;
    ``through`` is the last delivery id the job may reach, so deliveries that fail
    after the job was created are not its business. Times are unix microseconds.
    """

    statuses: tuple[DeliveryStatus, ...] = ("failed",)
    subscription_id: str | None = None
    event_id: str | None = None
    source: str | None = None
    event_type: str | None = None
    event_types: tuple[str, ...] | None = None
    since: int | None = None
    until: int | None = None
    owner_id: str | None = None
    through: str | None = None


@dataclass(frozen=True, slots=True)
class RetryCandidate:
    """A delivery a bulk retry reached; ``live`` unless its subscription was deleted or
    is disabled (then it is skipped, as a single retry would refuse it)."""

    id: str
    live: bool


def _retry_query(f: RetryFilter) -> tuple[str, Where]:
    """The joins and conditions selecting ``f``'s deliveries (``d``), for the count a
    dry run answers and for the batches a job applies alike."""
    where = Where()
    where.clauses.append(f"d.status IN ({where.params(f.statuses)})")
    where.add("d.subscription_id = {}", f.subscription_id).add("d.id <= {}", f.through)
    where.add("d.event_id = {}", f.event_id)
    add_time_range(
        where,
        id_column="d.id",
        time_column="d.created_at",
        prefix="dlv",
        since=f.since,
        until=f.until,
    )
    joins = " LEFT JOIN subscriptions s ON s.id = d.subscription_id"
    where.add("s.owner_id = {}", f.owner_id)
    if f.source is not None or f.event_types is not None:
        joins += " JOIN events e ON e.id = d.event_id"
        where.add("e.source = {}", f.source)
        if f.event_types is not None:
            listed = where.params(f.event_types) if f.event_types else "NULL"
            where.clauses.append(f"e.type IN ({listed})")
    return joins, where


async def count_retry(conn: Connection, f: RetryFilter) -> tuple[int, str | None]:
    """How many deliveries ``f`` selects now, and the greatest id among them."""
    joins, where = _retry_query(f)
    row = await conn.fetchrow(
        f"SELECT COUNT(*) AS n, MAX(d.id) AS last FROM deliveries d{joins}{where.sql()}",
        *where.args,
    )
    return (0, None) if row is None else (int(row["n"]), row["last"])


async def retry_candidates(
    conn: Connection, f: RetryFilter, after: str | None, limit: int
) -> list[RetryCandidate]:
    """The next ``limit`` deliveries ``f`` selects with ids above ``after``, in id order."""
    joins, where = _retry_query(f)
    where.add("d.id > {}", after)
    rows = await conn.fetch(
        f"SELECT d.id, d.subscription_id, s.enabled, s.deleted_at FROM deliveries d{joins}"
        f"{where.sql()} ORDER BY d.id LIMIT {int(limit)}",
        *where.args,
    )
    return [
        RetryCandidate(
            row["id"],
            row["subscription_id"] is None or (bool(row["enabled"]) and row["deleted_at"] is None),
        )
        for row in rows
    ]


async def retry_now(
    conn: Connection, delivery_ids: Collection[str], statuses: Collection[str], now: int
) -> int:
    """Make those of ``delivery_ids`` still in one of ``statuses`` pending and due
    ``now`` (a bulk retry); how many. A pending one keeps its lease: a worker may be
    attempting it right now, and a second worker must not attempt it beside it."""
    if not delivery_ids:
        return 0
    where = Where()
    ids = where.params(delivery_ids)
    wanted = where.params(statuses)
    at = where.param(now)
    return await conn.execute(
        f"UPDATE deliveries SET status = 'pending', next_attempt_at = {at}, "
        f"lease_until = CASE WHEN status = 'pending' THEN lease_until ELSE NULL END, "
        f"updated_at = {at} WHERE id IN ({ids}) AND status IN ({wanted})",
        *where.args,
    )
