"""Retention: purging events, deliveries and attempts older than the configured ages.

Two kinds of purge, both in bounded batches, each batch its own short transaction:

- **old events** (received before ``events_before``) go with their deliveries and
  their deliveries' attempts — but never an event that still has a ``pending``
  delivery, nor one not dispatched yet (its deliveries are still to be made);
- **old attempts** (recorded before ``attempts_before``) go on their own — but never
  those of a pending delivery, whose history is still being written.

With the attempts go their hourly roll-ups (``storage.rollups``) of the hours wholly
before ``attempts_before``, and with the events the jobs (``storage.jobs``) that
finished before ``events_before``. The change feed's rows go with their event or
attempt (``ON DELETE CASCADE``, in the same batch); expired idempotency keys are purged
by the relay's job runner (``storage.idempotency.purge_expired``).

Ids begin with their creation millisecond (``core.ids``), so "older than" is a range
of the primary key: ``id < first_id(prefix, cutoff)``. Each pass walks that range in
id order with a keyset cursor, so the rows it keeps (an old event still pending) are
read once per pass, not once per batch.

Concurrency. Ingest inserts at the other end of the key range; on PostgreSQL a batch
locks only its own events (``SKIP LOCKED``: one being replayed right now is kept for a
later pass, never waited for) and re-checks the pending rule under the lock, and the
deletes skip any delivery that became pending meanwhile (an operator's retry), so its
event stays. On SQLite a batch holds the one writer for its few statements: the batch
size bounds how long ingest waits.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from core.ids import first_id
from storage.database import Database
from storage.query import Where
from storage.rollups import hour_of

_PURGEABLE_EVENT = (
    "e.dispatched_at IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM deliveries p WHERE p.event_id = e.id AND p.status = 'pending')"
)
# Made before the cutoff ($1, the id range) and finished before it ($2): a running job
# (however old) is still applying itself.
_FINISHED_JOB = "id < $1 AND status <> 'running' AND finished_at < $2"
_UNPENDING_DELIVERY = (
    "NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.id = a.delivery_id AND p.status = 'pending')"
)


@dataclass(frozen=True, slots=True)
class Purged:
    """Rows purged (or that a purge would purge), by kind."""

    events: int = 0
    deliveries: int = 0
    attempts: int = 0
    rollups: int = 0
    jobs: int = 0

    def __add__(self, other: Purged) -> Purged:
        return Purged(
            self.events + other.events,
            self.deliveries + other.deliveries,
            self.attempts + other.attempts,
            self.rollups + other.rollups,
            self.jobs + other.jobs,
        )

    @property
    def rows(self) -> int:
        """Rows of every kind."""
        return self.events + self.deliveries + self.attempts + self.rollups + self.jobs


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Rows created before these times (unix µs) go; None keeps that kind forever."""

    events_before: int | None
    attempts_before: int | None


class Retention:
    """Counting and purging rows past their retention."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def count(self, cutoffs: Cutoffs) -> Purged:
        """What a purge with ``cutoffs`` would delete now, by kind (changes nothing)."""
        events = deliveries = attempts = 0
        event_bound = _bound("evt", cutoffs.events_before)
        attempt_bound = _bound("att", cutoffs.attempts_before)
        if event_bound is not None:
            old_events = f"e.id < $1 AND {_PURGEABLE_EVENT}"
            events = await self._scalar(
                f"SELECT COUNT(*) AS n FROM events e WHERE {old_events}", event_bound
            )
            deliveries = await self._scalar(
                "SELECT COUNT(*) AS n FROM deliveries d JOIN events e ON e.id = d.event_id "
                f"WHERE {old_events}",
                event_bound,
            )
        where = Where()
        reasons = []
        if attempt_bound is not None:
            reasons.append(f"a.id < {where.param(attempt_bound)}")
        if event_bound is not None:
            reasons.append(
                "d.event_id IN (SELECT e.id FROM events e "
                f"WHERE e.id < {where.param(event_bound)} AND {_PURGEABLE_EVENT})"
            )
        if reasons:
            attempts = await self._scalar(
                "SELECT COUNT(*) AS n FROM attempts a JOIN deliveries d ON d.id = a.delivery_id "
                f"WHERE d.status <> 'pending' AND ({' OR '.join(reasons)})",
                *where.args,
            )
        rollups = jobs = 0
        if cutoffs.attempts_before is not None:
            rollups = await self._scalar(
                "SELECT COUNT(*) AS n FROM attempt_rollups WHERE hour < $1",
                hour_of(cutoffs.attempts_before),
            )
        if event_bound is not None:
            jobs = await self._scalar(
                f"SELECT COUNT(*) AS n FROM jobs WHERE {_FINISHED_JOB}",
                _bound("job", cutoffs.events_before),
                cutoffs.events_before,
            )
        return Purged(events, deliveries, attempts, rollups, jobs)

    async def purge(self, cutoffs: Cutoffs, batch_size: int) -> AsyncGenerator[Purged, None]:
        """Purge in batches of up to ``batch_size`` events (then attempts, roll-ups and
        jobs), yielding what each committed batch deleted; stop iterating to stop between
        batches."""
        event_bound = _bound("evt", cutoffs.events_before)
        if event_bound is not None:
            after = ""
            while True:
                candidates = await self._old_events(event_bound, after, batch_size)
                if not candidates:
                    break
                after = candidates[-1]
                yield await self._purge_events(candidates)
        attempts_before = cutoffs.attempts_before
        attempt_bound = _bound("att", attempts_before)
        if attempts_before is not None and attempt_bound is not None:
            after = ""
            while True:
                candidates = await self._old_attempts(attempt_bound, after, batch_size)
                if not candidates:
                    break
                after = candidates[-1]
                yield Purged(attempts=await self._delete_in("attempts", "id", candidates))
            async for purged in self._purge_rollups(hour_of(attempts_before), batch_size):
                yield purged
        if event_bound is not None:
            async for purged in self._purge_jobs(cutoffs, batch_size):
                yield purged

    async def _purge_rollups(self, end_hour: int, batch_size: int) -> AsyncGenerator[Purged, None]:
        """Delete the roll-ups of the hours before ``end_hour``, oldest first, about
        ``batch_size`` rows a batch (the last hour of a batch goes whole: a row per
        subscription active in it)."""
        while True:
            last = await self._db.fetchrow(
                "SELECT hour FROM attempt_rollups WHERE hour < $1 "
                f"ORDER BY hour LIMIT 1 OFFSET {max(0, int(batch_size) - 1)}",
                end_hour,
            )
            upto = end_hour if last is None else int(last["hour"]) + 1
            deleted = await self._db.execute("DELETE FROM attempt_rollups WHERE hour < $1", upto)
            if deleted:
                yield Purged(rollups=deleted)
            if last is None:
                return

    async def _purge_jobs(self, cutoffs: Cutoffs, batch_size: int) -> AsyncGenerator[Purged, None]:
        """Delete the jobs that finished before ``events_before``, in id order."""
        after = ""
        while True:
            rows = await self._db.fetch(
                f"SELECT id FROM jobs WHERE id > $3 AND {_FINISHED_JOB} "
                f"ORDER BY id LIMIT {int(batch_size)}",
                _bound("job", cutoffs.events_before),
                cutoffs.events_before,
                after,
            )
            if not rows:
                return
            after = rows[-1]["id"]
            yield Purged(jobs=await self._delete_in("jobs", "id", [row["id"] for row in rows]))

    async def _old_events(self, bound: str, after: str, limit: int) -> list[str]:
        rows = await self._db.fetch(
            f"SELECT e.id FROM events e WHERE e.id > $1 AND e.id < $2 AND {_PURGEABLE_EVENT} "
            f"ORDER BY e.id LIMIT {int(limit)}",
            after,
            bound,
        )
        return [row["id"] for row in rows]

    async def _old_attempts(self, bound: str, after: str, limit: int) -> list[str]:
        rows = await self._db.fetch(
            f"SELECT a.id FROM attempts a WHERE a.id > $1 AND a.id < $2 AND {_UNPENDING_DELIVERY} "
            f"ORDER BY a.id LIMIT {int(limit)}",
            after,
            bound,
        )
        return [row["id"] for row in rows]

    async def _purge_events(self, candidates: Sequence[str]) -> Purged:
        """Delete these events (those still purgeable under the lock) with their
        deliveries and attempts, in one transaction."""
        async with self._db.transaction() as tx:
            where = Where()
            rows = await tx.fetch(
                f"SELECT e.id FROM events e WHERE e.id IN ({_in(where, candidates)}) "
                f"AND {_PURGEABLE_EVENT} ORDER BY e.id {self._db.dialect.skip_locked}",
                *where.args,
            )
            gone = [row["id"] for row in rows]
            if not gone:
                return Purged()
            where = Where()
            events_in = _in(where, gone)
            # ``status <> 'pending'`` is re-checked row by row as each is deleted: a
            # delivery retried meanwhile survives, and so (NOT EXISTS) does its event.
            of_gone = (
                f"SELECT id FROM deliveries WHERE event_id IN ({events_in}) AND status <> 'pending'"
            )
            attempts = await tx.execute(
                f"DELETE FROM attempts WHERE delivery_id IN ({of_gone})", *where.args
            )
            deliveries = await tx.execute(
                f"DELETE FROM deliveries WHERE event_id IN ({events_in}) AND status <> 'pending'",
                *where.args,
            )
            events = await tx.execute(
                f"DELETE FROM events WHERE id IN ({events_in}) AND NOT EXISTS "
                "(SELECT 1 FROM deliveries p WHERE p.event_id = events.id)",
                *where.args,
            )
        return Purged(events, deliveries, attempts)

    async def _delete_in(self, table: str, column: str, values: Sequence[str]) -> int:
        where = Where()
        return await self._db.execute(
            f"DELETE FROM {table} WHERE {column} IN ({_in(where, values)})", *where.args
        )

    async def _scalar(self, sql: str, *args: object) -> int:
        row = await self._db.fetchrow(sql, *args)
        return 0 if row is None else int(row["n"])


def _bound(prefix: str, before_us: int | None) -> str | None:
    """The smallest id made at ``before_us`` (rows with smaller ids are older)."""
    return None if before_us is None else first_id(prefix, before_us // 1000)


def _in(where: Where, values: Sequence[str]) -> str:
    return ", ".join(where.param(value) for value in values)
