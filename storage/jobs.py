"""The ``jobs`` table: bulk retries and replays, stored so that any worker can finish them.

A job is created ``running`` with the filter of what it touches (``RetryFilter``,
``ReplayFilter``), closed at the last matching item id, and ``matched`` counted by the
same query a dry run answers (``matches``). A runner *holds* it under a lease
(``hold``), then applies it batch by batch with ``step``: one transaction that first
checks, locking the job's row, that the job is still running and held by this runner,
then applies the batch from the stored cursor and moves the cursor and the counts.

So a process that dies mid-batch leaves that batch undone and the job resumable from
its cursor by any runner once the lease runs out; a runner whose lease ran out and was
taken over finds out before it applies anything; a cancel takes effect at the next
batch. No item is applied twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from core.clock import SECOND_US, Clock, now_us
from core.ids import new_id
from storage.database import Connection, Database, Row
from storage.errors import NotFoundError
from storage.events import ReplayFilter, count_replay, types_like
from storage.query import Where, fetch_page
from storage.records import ERROR_DETAIL_LIMIT, Page
from storage.retries import RetryFilter, count_retry

JobKind = Literal["retry", "replay"]
JobStatus = Literal["running", "succeeded", "failed", "cancelled"]
JOB_STATUSES: tuple[JobStatus, ...] = ("running", "succeeded", "failed", "cancelled")
Filter = RetryFilter | ReplayFilter
_COLUMNS = (
    "id, kind, created_by, filters, status, matched, done, skipped, item_cursor, error, "
    "created_at, updated_at, finished_at"
)


@dataclass(frozen=True, slots=True)
class Job:
    """A bulk retry or replay and how far it got. ``done`` counts the items it went
    through, ``skipped`` those of them it left alone; ``cursor`` is the last item id."""

    id: str
    kind: JobKind
    created_by: str
    filter: Filter
    status: JobStatus
    matched: int
    done: int
    skipped: int
    cursor: str | None
    error: str | None
    created_at: int
    updated_at: int
    finished_at: int | None


@dataclass(frozen=True, slots=True)
class Progress:
    """What one batch did: the last item id it went through (None: it found none), how
    many items, how many of them skipped, and whether it was the last batch."""

    cursor: str | None
    done: int
    skipped: int
    last: bool


BatchWork = Callable[[Connection, Job], Awaitable[Progress]]
"""Applies a job's next batch inside the transaction it is given, from ``job.cursor``."""


def kind_of(f: Filter) -> JobKind:
    """The kind of job that applies ``f``."""
    return "retry" if isinstance(f, RetryFilter) else "replay"


def _filter_json(f: Filter) -> str:
    return orjson.dumps(dataclasses.asdict(f)).decode()


def _filter(kind: str, text: str) -> Filter:
    values: dict[str, Any] = orjson.loads(text)
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    return RetryFilter(**values) if kind == "retry" else ReplayFilter(**values)


def _job(row: Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        created_by=row["created_by"],
        filter=_filter(row["kind"], row["filters"]),
        status=row["status"],
        matched=row["matched"],
        done=row["done"],
        skipped=row["skipped"],
        cursor=row["item_cursor"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


class Jobs:
    """Creating, holding, stepping and cancelling bulk jobs."""

    def __init__(self, db: Database, *, clock: Clock = now_us) -> None:
        self._db = db
        self._clock = clock

    async def matches(self, f: Filter) -> tuple[int, str | None]:
        """How many items ``f`` selects now, and the last of their ids (a dry run)."""
        if isinstance(f, RetryFilter):
            return await count_retry(self._db, f)
        return await count_replay(self._db, f)

    async def event_types(self, like: str, source: str | None = None) -> list[str]:
        """The stored event types (of ``source``) that ``LIKE like``: what a job's
        ``event_type`` pattern can stand for (``storage.events.like_superset``)."""
        return await types_like(self._db, like, source)

    async def create(self, created_by: str, f: Filter) -> Job:
        """A job applying ``f``, on behalf of user ``created_by``: ``running`` over the
        items matched now (``succeeded`` at once when there are none)."""
        matched, last = await self.matches(f)
        now = self._clock()
        status: JobStatus = "running" if matched else "succeeded"
        rows = await self._db.write(
            "INSERT INTO jobs (id, kind, created_by, filters, status, matched, created_at, "
            f"updated_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) "
            f"RETURNING {_COLUMNS}",
            new_id("job", now // 1000),
            kind_of(f),
            created_by,
            _filter_json(dataclasses.replace(f, through=last)),
            status,
            matched,
            now,
            None if matched else now,
        )
        return _job(rows[0])

    async def get(self, job_id: str, created_by: str | None = None) -> Job:
        """The job; ``NotFoundError`` if absent or not created by ``created_by``."""
        where = Where().add("id = {}", job_id).add("created_by = {}", created_by)
        row = await self._db.fetchrow(f"SELECT {_COLUMNS} FROM jobs{where.sql()}", *where.args)
        if row is None:
            raise NotFoundError(f"no job {job_id}")
        return _job(row)

    async def page(
        self, *, created_by: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[Job]:
        """Jobs newest first; ``created_by`` keeps that user's only."""
        return await fetch_page(
            self._db,
            f"SELECT {_COLUMNS} FROM jobs",
            Where().add("created_by = {}", created_by),
            id_column="id",
            limit=limit,
            cursor=cursor,
            convert=_job,
        )

    async def cancel(self, job_id: str, created_by: str | None = None) -> Job:
        """Cancel the job if it is running (it stops before its next batch); the job as it
        is then. ``NotFoundError`` as ``get``."""
        now = self._clock()
        where = Where().add("id = {}", job_id).add("created_by = {}", created_by)
        where.clauses.append("status = 'running'")
        at = where.param(now)
        await self._db.execute(
            f"UPDATE jobs SET status = 'cancelled', finished_at = {at}, updated_at = {at}, "
            f"holder = NULL, lease_until = NULL{where.sql()}",
            *where.args,
        )
        return await self.get(job_id, created_by)

    async def hold(
        self, holder: str, lease_s: float, job_id: str | None = None, now: int | None = None
    ) -> Job | None:
        """Lease the oldest running job nobody holds (``job_id`` only, if given) to
        ``holder`` for ``lease_s``; None if there is none. Two runners never hold one job."""
        now = self._clock() if now is None else now
        where = Where()
        lease_until = where.param(now + int(lease_s * SECOND_US))
        who = where.param(holder)
        at = where.param(now)
        where.clauses += ["status = 'running'", f"(lease_until IS NULL OR lease_until <= {at})"]
        where.add("id = {}", job_id)
        async with self._db.transaction() as tx:
            rows = await tx.fetch(
                f"WITH free AS MATERIALIZED (SELECT id FROM jobs{where.sql()} ORDER BY id "
                f"LIMIT 1 {self._db.dialect.skip_locked}) "
                f"UPDATE jobs SET holder = {who}, lease_until = {lease_until} FROM free "
                f"WHERE jobs.id = free.id RETURNING {_prefixed('jobs')}",
                *where.args,
            )
        return _job(rows[0]) if rows else None

    async def step(
        self, job_id: str, holder: str, lease_s: float, work: BatchWork, now: int | None = None
    ) -> Job | None:
        """Apply the job's next batch with ``work`` and move its cursor, in one
        transaction, renewing ``holder``'s lease; the job after it. None, with nothing
        applied, if the job is no longer running or ``holder`` no longer holds it."""
        now = self._clock() if now is None else now
        async with self._db.transaction() as tx:
            # First: this UPDATE locks the row, so a runner taking the job over waits for
            # this batch to commit, and then finds the lease renewed.
            rows = await tx.fetch(
                f"UPDATE jobs SET lease_until = $1 WHERE id = $2 AND holder = $3 "
                f"AND status = 'running' RETURNING {_COLUMNS}",
                now + int(lease_s * SECOND_US),
                job_id,
                holder,
            )
            if not rows:
                return None
            job = _job(rows[0])
            progress = await work(tx, job)
            finished = now if progress.last else None
            rows = await tx.fetch(
                "UPDATE jobs SET item_cursor = $1, done = done + $2, skipped = skipped + $3, "
                "status = $4, finished_at = $5, updated_at = $6, "
                "holder = CASE WHEN $7 THEN NULL ELSE holder END, "
                "lease_until = CASE WHEN $7 THEN NULL ELSE lease_until END "
                f"WHERE id = $8 RETURNING {_COLUMNS}",
                progress.cursor or job.cursor,
                progress.done,
                progress.skipped,
                "succeeded" if progress.last else "running",
                finished,
                now,
                progress.last,
                job_id,
            )
            return _job(rows[0])

    async def release(self, job_id: str, holder: str) -> None:
        """Give up ``holder``'s lease on the job (a worker stopping), so that any runner
        may take it over at once."""
        await self._db.execute(
            "UPDATE jobs SET holder = NULL, lease_until = NULL WHERE id = $1 AND holder = $2",
            job_id,
            holder,
        )

    async def fail(self, job_id: str, holder: str, error: str) -> None:
        """Mark the job ``failed`` with ``error`` (it cannot go on), if ``holder`` holds it."""
        now = self._clock()
        await self._db.execute(
            "UPDATE jobs SET status = 'failed', error = $1, finished_at = $2, updated_at = $2, "
            "holder = NULL, lease_until = NULL WHERE id = $3 AND holder = $4 "
            "AND status = 'running'",
            error[:ERROR_DETAIL_LIMIT],
            now,
            job_id,
            holder,
        )


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))
