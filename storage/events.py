"""The ``events`` table: raw webhooks, stored once per (source, provider event id).

Header values are text. One that arrived holding bytes that are not UTF-8 is stored
decoded as ISO-8859-1 (RFC 9110 §5.5: such octets are opaque, historically Latin-1)
and its name listed in ``latin1_headers``, so ``value.encode("latin-1")`` gives back
the exact bytes received.

Each batch insert also counts its new events into ``event_types`` (one row per
source and type, with when it was last seen), in the same commit: the catalog is read
from there, never by scanning ``events``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import cast

import orjson

from core.ids import new_id
from storage.database import Connection, Database, Row
from storage.errors import InvalidFieldError, NotFoundError
from storage.fields import bounded, headers_json
from storage.group_commit import GroupCommitter
from storage.query import Where, add_time_range, fetch_page
from storage.records import Event, NewEvent, Page, StoredEvent

_COLUMNS = (
    "id, source, type, provider_event_id, received_at, headers, latin1_headers, dispatched_at"
)
_INSERT = (
    "INSERT INTO events (id, source, type, provider_event_id, received_at, headers, "
    "latin1_headers, body) VALUES {values} ON CONFLICT (provider_event_id, source) DO NOTHING"
)
_CATALOG_UPSERT = (
    "INSERT INTO event_types (source, type, count, last_seen_at) {rows} "
    "ON CONFLICT (source, type) DO UPDATE SET count = event_types.count + excluded.count, "
    "last_seen_at = CASE WHEN excluded.last_seen_at > event_types.last_seen_at "
    "THEN excluded.last_seen_at ELSE event_types.last_seen_at END"
)
# PostgreSQL: the catalog upsert rides in the insert's statement (a data-modifying
# CTE), so a batch stays one hop to the server. Rows are upserted in key order so two
# gateways' batches lock the same types in the same order (no deadlock).
_INSERT_COUNTED = (
    "WITH inserted AS ({insert} RETURNING id, source, type, received_at), "
    "counted AS ("
    + _CATALOG_UPSERT.format(
        rows="SELECT source, type, COUNT(*), MAX(received_at) FROM inserted "
        "GROUP BY source, type ORDER BY source, type"
    )
    + ") SELECT id FROM inserted"
)


def _event(row: Row, *, with_body: bool = False) -> Event:
    return Event(
        id=row["id"],
        source=row["source"],
        type=row["type"],
        provider_event_id=row["provider_event_id"],
        received_at=row["received_at"],
        headers=orjson.loads(row["headers"]),
        body=bytes(row["body"]) if with_body else None,
        dispatched_at=row["dispatched_at"],
        latin1_headers=tuple(orjson.loads(row["latin1_headers"] or "[]")),
    )


def _row(event_id: str, new: NewEvent) -> tuple[object, ...]:
    """Checked column values: a bad field fails this caller before its batch starts."""
    return (
        event_id,
        bounded("source", new.source),
        bounded("type", new.type),
        bounded("provider_event_id", new.provider_event_id),
        new.received_at,
        headers_json("headers", new.headers),
        _latin1_json(new),
        new.body,
    )


def _latin1_json(new: NewEvent) -> str | None:
    """The names of ``new``'s Latin-1 decoded headers as stored JSON (NULL if none)."""
    if not new.latin1_headers:
        return None
    unknown = set(new.latin1_headers) - set(new.headers)
    if unknown:
        raise InvalidFieldError("latin1_headers", f"names no header: {sorted(unknown)}")
    return orjson.dumps(sorted(set(new.latin1_headers))).decode()


class Events:
    """Stores events through group commit and reads them back."""

    def __init__(self, db: Database, max_batch: int = 256) -> None:
        self._db = db
        self._committer: GroupCommitter[tuple[object, ...], StoredEvent] = GroupCommitter(
            self._insert_batch, max_batch
        )

    async def store(self, new: NewEvent) -> StoredEvent:
        """Commit ``new`` durably (with concurrent callers, in one transaction).

        A repeat of a stored (source, provider event id) stores nothing and answers
        the first event's id with ``duplicate=True``.
        """
        return await self._committer.submit(_row(new_id("evt", new.received_at // 1000), new))

    async def _insert_batch(self, rows: Sequence[tuple[object, ...]]) -> list[StoredEvent]:
        # One multi-row INSERT per batch, committed as one statement (one hop to the
        # database). Only repeats, which are rare, need a second query: their first
        # copy is committed already, so it is read after the insert commits.
        params = Where()
        values = ", ".join(f"({', '.join(params.param(value) for value in row)})" for row in rows)
        new_ids = await self._insert_counted(_INSERT.format(values=values), params.args, rows)
        repeats = [row for row in rows if row[0] not in new_ids]
        winners = await self._winners(self._db, repeats) if repeats else {}
        return [
            StoredEvent(id=str(row[0]), duplicate=False)
            if row[0] in new_ids
            else StoredEvent(id=winners[(str(row[1]), str(row[3]))], duplicate=True)
            for row in rows
        ]

    async def _insert_counted(
        self, insert: str, args: Sequence[object], rows: Sequence[tuple[object, ...]]
    ) -> set[str]:
        """Run the batch ``insert`` and count the events it stored into ``event_types``,
        atomically; the ids stored."""
        if self._db.dialect.name == "postgresql":
            inserted = await self._db.write(_INSERT_COUNTED.format(insert=insert), *args)
            return {row["id"] for row in inserted}
        # SQLite has no data-modifying CTE; its statements are hops to an in-process
        # thread, so a transaction of two costs little beside the commit's fsync.
        async with self._db.transaction() as tx:
            new_ids = {row["id"] for row in await tx.fetch(f"{insert} RETURNING id", *args)}
            await _count_types(tx, [row for row in rows if row[0] in new_ids])
        return new_ids

    @staticmethod
    async def _winners(
        tx: Connection, rows: Sequence[tuple[object, ...]]
    ) -> dict[tuple[str, str], str]:
        """The stored id for each (source, provider event id) of ``rows``."""
        where = Where()
        placeholders = ", ".join(where.param(row[3]) for row in rows)
        found = await tx.fetch(
            f"SELECT id, source, provider_event_id FROM events "
            f"WHERE provider_event_id IN ({placeholders})",
            *where.args,
        )
        return {(row["source"], row["provider_event_id"]): row["id"] for row in found}

    async def get(self, event_id: str) -> Event:
        """The event with its body; ``NotFoundError`` if there is none."""
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS}, body FROM events WHERE id = $1", event_id
        )
        if row is None:
            raise NotFoundError(f"no event {event_id}")
        return _event(row, with_body=True)

    async def get_many(self, event_ids: Collection[str]) -> list[Event]:
        """Those of ``event_ids`` that exist, with their bodies, in id order (one query)."""
        if not event_ids:
            return []
        where = Where()
        placeholders = ", ".join(where.param(event_id) for event_id in event_ids)
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS}, body FROM events WHERE id IN ({placeholders}) ORDER BY id",
            *where.args,
        )
        return [_event(row, with_body=True) for row in rows]

    async def page(
        self,
        *,
        source: str | None = None,
        event_type: str | None = None,
        since: int | None = None,
        until: int | None = None,
        owner_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        provider_event_id: str | None = None,
    ) -> Page[Event]:
        """Events newest first, without bodies; ``owner_id`` keeps only those behind
        that owner's deliveries."""
        where = (
            Where()
            .add("source = {}", source)
            .add("type = {}", event_type)
            .add("provider_event_id = {}", provider_event_id)
            .add(
                "id IN (SELECT d.event_id FROM deliveries d JOIN subscriptions s "
                "ON s.id = d.subscription_id WHERE s.owner_id = {})",
                owner_id,
            )
        )
        add_time_range(
            where,
            id_column="id",
            time_column="received_at",
            prefix="evt",
            since=since,
            until=until,
        )
        return await fetch_page(
            self._db,
            f"SELECT {_COLUMNS} FROM events",
            where,
            id_column="id",
            limit=limit,
            cursor=cursor,
            convert=_event,
        )

    async def undispatched(self, received_before: int, limit: int = 500) -> list[str]:
        """Ids of events whose deliveries were never created (the sweeper re-drives them)."""
        rows = await self._db.fetch(
            "SELECT id FROM events WHERE dispatched_at IS NULL AND received_at < $1 "
            f"ORDER BY id LIMIT {int(limit)}",
            received_before,
        )
        return [row["id"] for row in rows]

    async def close(self) -> None:
        """Let the batch in flight finish."""
        await self._committer.close()


async def _count_types(conn: Connection, stored: Sequence[tuple[object, ...]]) -> None:
    """Add the events of ``stored`` (rows as ``_row`` makes them) to ``event_types``."""
    seen: dict[tuple[object, object], tuple[int, int]] = {}
    for row in stored:
        count, last = seen.get((row[1], row[2]), (0, 0))
        seen[(row[1], row[2])] = (count + 1, max(last, cast(int, row[4])))
    if not seen:
        return
    params = Where()
    values = ", ".join(
        f"({params.param(source)}, {params.param(kind)}, {params.param(n)}, {params.param(at)})"
        for (source, kind), (n, at) in seen.items()
    )
    await conn.execute(_CATALOG_UPSERT.format(rows=f"VALUES {values}"), *params.args)


async def claim_dispatch(conn: Connection, event_ids: Collection[str], now: int) -> set[str]:
    """Mark dispatched at ``now`` those of ``event_ids`` not dispatched yet; their ids.

    Run in the transaction that creates their deliveries (``Deliveries.create``): the
    claim is what makes a second dispatch of the same event a no-op.
    """
    where = Where()
    placeholders = ", ".join(where.param(event_id) for event_id in event_ids)
    rows = await conn.fetch(
        f"UPDATE events SET dispatched_at = {where.param(now)} "
        f"WHERE id IN ({placeholders}) AND dispatched_at IS NULL RETURNING id",
        *where.args,
    )
    return {row["id"] for row in rows}


@dataclass(frozen=True, slots=True)
class ReplayFilter:
    """The events a bulk replay touches (``storage.jobs``), fixed when it is created.

    ``event_types`` are the types the ``event_type`` pattern matched then (None: any);
    ``through`` is the last event id the job may reach; ``subscription_id``, if set,
    is the one target the events are replayed to. Times are unix microseconds.
    """

    source: str | None = None
    event_type: str | None = None
    event_types: tuple[str, ...] | None = None
    since: int | None = None
    until: int | None = None
    subscription_id: str | None = None
    through: str | None = None


def _replay_query(f: ReplayFilter) -> Where:
    """The conditions selecting ``f``'s events, for a dry run's count and a job's batches."""
    where = Where().add("source = {}", f.source).add("id <= {}", f.through)
    if f.event_types is not None:
        listed = ", ".join(where.param(t) for t in f.event_types) if f.event_types else "NULL"
        where.clauses.append(f"type IN ({listed})")
    return add_time_range(
        where,
        id_column="id",
        time_column="received_at",
        prefix="evt",
        since=f.since,
        until=f.until,
    )


async def count_replay(conn: Connection, f: ReplayFilter) -> tuple[int, str | None]:
    """How many events ``f`` selects now, and the greatest id among them."""
    where = _replay_query(f)
    row = await conn.fetchrow(
        f"SELECT COUNT(*) AS n, MAX(id) AS last FROM events{where.sql()}", *where.args
    )
    return (0, None) if row is None else (int(row["n"]), row["last"])


async def replay_candidates(
    conn: Connection, f: ReplayFilter, after: str | None, limit: int
) -> list[Event]:
    """The next ``limit`` events ``f`` selects with ids above ``after``, in id order,
    without bodies (matching needs their source and type only)."""
    where = _replay_query(f).add("id > {}", after)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events{where.sql()} ORDER BY id LIMIT {int(limit)}",
        *where.args,
    )
    return [_event(row) for row in rows]


def like_superset(pattern: str) -> str:
    """A ``LIKE`` pattern (escape ``\\``) matching every type the event-type ``pattern``
    can match, and more: each ``*`` becomes ``%``, which also spans dots (and SQLite's
    ``LIKE`` ignores ASCII case). ``policy.matching.type_matches`` narrows the answer."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


async def types_like(conn: Connection, like: str, source: str | None = None) -> list[str]:
    """The distinct types of stored events (of ``source``) that ``LIKE like``, sorted."""
    where = Where().add("type LIKE {} ESCAPE '\\'", like).add("source = {}", source)
    rows = await conn.fetch(
        f"SELECT DISTINCT type FROM events{where.sql()} ORDER BY type", *where.args
    )
    return [row["type"] for row in rows]
