"""The change feed: what was stored, in an order a reader can resume exactly.

Triggers (migration 10) write a ``changes`` row in the very transaction that stores an
event (``event``), claims it for dispatch, its deliveries created (``dispatch``), or
records an attempt (``attempt``, with its delivery's status after it). Ids cannot be
the cursor: they are made before commit, in several processes, so a row with a smaller
id can become visible after a larger one was read, and ``id > last`` would skip it.

A ``Position`` is ``(xid, seq)`` and rows are read in that order, only where nothing
can appear before them any more:

- SQLite has one writer at a time (every process takes the file lock), so ``seq``
  (``AUTOINCREMENT``, never reused) is commit order: every visible row is final and
  ``xid`` is always 0.
- PostgreSQL assigns ``seq`` at insert, and transactions commit in any order. Each row
  carries its transaction's id; ``pg_snapshot_xmin(pg_current_snapshot())``, read in
  the same statement, is a horizon below which every transaction has ended, and every
  transaction still to come gets a larger id. Rows with ``xid`` below the horizon are
  therefore final, and so is their ``(xid, seq)`` order; rows at or above it are left
  for a later read (``Read.held``), however visible. A long-running writing transaction
  anywhere in the cluster holds the horizon back, delaying (never losing) rows.

So a reader that resumes after position P reads every row after P exactly once:
nothing before P can still appear, and nothing after P was given before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from storage.database import Database, Row
from storage.errors import InvalidFieldError
from storage.query import Where

ChangeKind = Literal["event", "dispatch", "attempt"]
# Past any real seq: ``(horizon - 1, AFTER_ALL)`` is after every final row.
AFTER_ALL = 2**62
_SELECT = """
SELECT c.seq, c.xid, c.kind, c.delivery_status{horizon},
       e.id AS event_id, e.source, e.type, e.received_at, e.provider_event_id,
       a.delivery_id, a.number, a.response_status, a.duration_ms, a.error,
       d.subscription_id, d.target, s.owner_id
FROM changes c
LEFT JOIN attempts a ON a.id = c.attempt_id
LEFT JOIN deliveries d ON d.id = a.delivery_id
LEFT JOIN subscriptions s ON s.id = d.subscription_id
LEFT JOIN events e ON e.id = COALESCE(c.event_id, d.event_id)
"""
_HORIZON = ", pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the feed: after every row up to ``(xid, seq)``."""

    xid: int
    seq: int

    def token(self) -> str:
        """The position as text (an SSE ``id``): ``xid-seq``."""
        return f"{self.xid}-{self.seq}"

    @classmethod
    def parse(cls, token: str) -> Position:
        """The position ``token`` names; ``InvalidFieldError`` if it names none."""
        xid, sep, seq = token.strip().partition("-")
        if not (sep and xid.isdigit() and seq.isdigit() and len(token) < 42):
            raise InvalidFieldError("Last-Event-ID", "is not a position of this stream")
        return cls(int(xid), int(seq))


START = Position(0, 0)


@dataclass(frozen=True, slots=True)
class Audience:
    """A delivery an event has: whose subscription (None for a handler)."""

    subscription_id: str | None
    owner_id: str | None


@dataclass(frozen=True, slots=True)
class Change:
    """One row of the feed with what a stream shows of it.

    Every change names its event. An ``attempt`` adds its delivery, subscription (and
    owner), number and answer; ``delivery_status`` is the delivery's status just after
    it (``pending`` when it will be tried again). A ``dispatch`` lists the deliveries
    its event was given then (``audience``).
    """

    position: Position
    kind: ChangeKind
    event_id: str
    source: str
    type: str
    received_at: int
    provider_event_id: str
    delivery_id: str | None = None
    subscription_id: str | None = None
    owner_id: str | None = None
    target: str | None = None
    number: int | None = None
    delivery_status: str | None = None
    response_status: int | None = None
    duration_ms: float | None = None
    error: str | None = None
    audience: tuple[Audience, ...] = ()


@dataclass(frozen=True, slots=True)
class Read:
    """A page of final changes after a position.

    ``position`` is where the next read starts (past rows whose event or attempt has
    since been deleted, too). ``held``: later rows exist that are not final yet, or the
    page was full: read again soon rather than wait for a wake-up.
    """

    changes: tuple[Change, ...]
    position: Position
    held: bool


class Changes:
    """Reads the change feed (triggers write it)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._postgres = db.dialect.name == "postgresql"

    async def end(self) -> Position:
        """The position after every final row: a reader starting here sees what comes next."""
        if self._postgres:
            row = await self._db.fetchrow(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon"
            )
            assert row is not None
            return Position(int(row["horizon"]) - 1, AFTER_ALL)
        row = await self._db.fetchrow("SELECT COALESCE(MAX(seq), 0) AS seq FROM changes")
        assert row is not None
        return Position(0, int(row["seq"]))

    async def after(self, position: Position, limit: int = 500) -> Read:
        """The final changes after ``position``, in feed order, at most ``limit``."""
        where = Where()
        if self._postgres:
            after = f"(c.xid, c.seq) > ({where.param(position.xid)}, {where.param(position.seq)})"
            sql = f"{_SELECT.format(horizon=_HORIZON)} WHERE {after} ORDER BY c.xid, c.seq"
        else:
            after = f"c.seq > {where.param(position.seq)}"
            sql = f"{_SELECT.format(horizon='')} WHERE {after} ORDER BY c.seq"
        rows = await self._db.fetch(f"{sql} LIMIT {int(limit)}", *where.args)
        final = [row for row in rows if not self._postgres or row["xid"] < row["horizon"]]
        held = len(rows) == limit or len(final) < len(rows)
        if final:
            position = Position(int(final[-1]["xid"]), int(final[-1]["seq"]))
        changes = [_change(row) for row in final if row["event_id"] is not None]
        return Read(tuple(await self._with_audience(changes)), position, held)

    async def _with_audience(self, changes: list[Change]) -> list[Change]:
        """``changes`` with each dispatch's deliveries (one query for the page)."""
        dispatched = {change.event_id for change in changes if change.kind == "dispatch"}
        if not dispatched:
            return changes
        where = Where()
        placeholders = ", ".join(where.param(event_id) for event_id in sorted(dispatched))
        # Only the deliveries made by the dispatch itself (at the time it was claimed), so
        # a read resumed later shows the same audience as the live one did.
        rows = await self._db.fetch(
            "SELECT d.event_id, d.subscription_id, s.owner_id FROM deliveries d "
            "JOIN events e ON e.id = d.event_id "
            "LEFT JOIN subscriptions s ON s.id = d.subscription_id "
            f"WHERE d.event_id IN ({placeholders}) AND d.created_at <= e.dispatched_at",
            *where.args,
        )
        audiences: dict[str, list[Audience]] = {}
        for row in rows:
            audiences.setdefault(row["event_id"], []).append(
                Audience(row["subscription_id"], row["owner_id"])
            )
        return [
            replace(change, audience=tuple(audiences.get(change.event_id, ())))
            if change.kind == "dispatch"
            else change
            for change in changes
        ]


def _change(row: Row) -> Change:
    return Change(
        position=Position(int(row["xid"]), int(row["seq"])),
        kind=row["kind"],
        event_id=row["event_id"],
        source=row["source"],
        type=row["type"],
        received_at=row["received_at"],
        provider_event_id=row["provider_event_id"],
        delivery_id=row["delivery_id"],
        subscription_id=row["subscription_id"],
        owner_id=row["owner_id"],
        target=row["target"],
        number=row["number"],
        delivery_status=row["delivery_status"],
        response_status=row["response_status"],
        duration_ms=row["duration_ms"],
        error=row["error"],
    )
