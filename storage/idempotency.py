"""The ``idempotency_keys`` table: the first response to each ``Idempotency-Key``.

A key belongs to one user and lives ``TTL_S`` (24 hours). ``begin`` claims it for a
request (the row exists, without a response, while the request runs), ``finish``
records the response, ``release`` gives the key up when the request could not be
completed (so that a retry runs it). A key claimed by a request that never finished
(its process died) is taken over after ``ABANDONED_S``. Expired keys are deleted when
their key is used again, and by ``purge_expired`` in bounded batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from core.clock import SECOND_US, Clock, now_us
from storage.database import Database, Row
from storage.errors import ConflictError

TTL_S = 86_400
ABANDONED_S = 300
PURGE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as first answered: its status, the headers worth repeating, its body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a key holds: the fingerprint of its first request and, once that request
    has finished, its response (None while it runs)."""

    fingerprint: str
    response: StoredResponse | None


def _recorded(row: Row) -> Recorded:
    if row["response_status"] is None:
        return Recorded(row["fingerprint"], None)
    response = StoredResponse(
        status=row["response_status"],
        headers=orjson.loads(row["response_headers"] or "{}"),
        body=bytes(row["response_body"] or b""),
    )
    return Recorded(row["fingerprint"], response)


class IdempotencyKeys:
    """Claims keys for requests and keeps their first responses."""

    def __init__(self, db: Database, *, clock: Clock = now_us) -> None:
        self._db = db
        self._clock = clock

    async def begin(self, user_id: str, key: str, fingerprint: str) -> Recorded | None:
        """Claim ``key`` of ``user_id`` for a request with ``fingerprint``: None if it is
        claimed now (run the request, then ``finish`` or ``release``), else what the key
        already holds (the caller compares fingerprints)."""
        for _ in range(3):
            now = self._clock()
            claimed = await self._db.write(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at, "
                "expires_at) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (user_id, key) DO NOTHING RETURNING key",
                user_id,
                key,
                fingerprint,
                now,
                now + TTL_S * SECOND_US,
            )
            if claimed:
                return None
            row = await self._db.fetchrow(
                "SELECT fingerprint, response_status, response_headers, response_body, "
                "created_at, expires_at FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                user_id,
                key,
            )
            if row is None:
                continue  # expired and deleted meanwhile: claim it
            abandoned = row["response_status"] is None and (
                row["created_at"] <= now - ABANDONED_S * SECOND_US
            )
            if row["expires_at"] > now and not abandoned:
                return _recorded(row)
            await self._db.execute(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at = $3",
                user_id,
                key,
                row["created_at"],
            )
        raise ConflictError(f"Idempotency-Key {key!r} is being claimed by another request")

    async def finish(self, user_id: str, key: str, response: StoredResponse) -> None:
        """Record the response to the request that claimed ``key``."""
        await self._db.execute(
            "UPDATE idempotency_keys SET response_status = $1, response_headers = $2, "
            "response_body = $3 WHERE user_id = $4 AND key = $5",
            response.status,
            orjson.dumps(dict(response.headers)).decode(),
            response.body,
            user_id,
            key,
        )

    async def release(self, user_id: str, key: str) -> None:
        """Give up ``key`` claimed by a request that did not complete."""
        await self._db.execute(
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 "
            "AND response_status IS NULL",
            user_id,
            key,
        )

    async def purge_expired(self, limit: int = PURGE_BATCH, now: int | None = None) -> int:
        """Delete up to ``limit`` expired keys; how many."""
        return await self._db.execute(
            "DELETE FROM idempotency_keys WHERE (user_id, key) IN (SELECT user_id, key "
            f"FROM idempotency_keys WHERE expires_at <= $1 LIMIT {int(limit)})",
            self._clock() if now is None else now,
        )
