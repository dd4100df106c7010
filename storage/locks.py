"""The ``locks`` table: named leases that one holder at a time may take.

A lease is a row ``(name, holder, lease_until)``. Taking it is one upsert that
succeeds only when nobody holds the name or the holder's lease has run out, so two
processes racing for it (on either backend) never both win, and a holder that dies
without releasing blocks the others only until ``lease_until``. Holders renew while
they work and release when done.
"""

from __future__ import annotations

from core.clock import SECOND_US, Clock, now_us
from storage.database import Database


class Locks:
    """Taking, renewing and releasing named leases."""

    def __init__(self, db: Database, *, clock: Clock = now_us) -> None:
        self._db = db
        self._clock = clock

    async def acquire(self, name: str, holder: str, lease_s: float) -> bool:
        """Take (or renew, for its holder) the lease ``name`` for ``lease_s``; whether
        ``holder`` holds it now."""
        now = self._clock()
        rows = await self._db.write(
            "INSERT INTO locks (name, holder, lease_until) VALUES ($1, $2, $3) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
            "lease_until = excluded.lease_until "
            "WHERE locks.holder = excluded.holder OR locks.lease_until <= $4 "
            "RETURNING holder",
            name,
            holder,
            now + int(lease_s * SECOND_US),
            now,
        )
        return bool(rows)

    async def release(self, name: str, holder: str) -> None:
        """Give up the lease ``name`` if ``holder`` holds it (anyone may take it at once)."""
        await self._db.execute("DELETE FROM locks WHERE name = $1 AND holder = $2", name, holder)

    async def holder(self, name: str) -> str | None:
        """Who holds the lease ``name`` now, if anyone."""
        row = await self._db.fetchrow(
            "SELECT holder FROM locks WHERE name = $1 AND lease_until > $2", name, self._clock()
        )
        return None if row is None else str(row["holder"])
