"""The ``attempts`` table: every try at a delivery, as sent and as answered.

Recording an attempt also moves its delivery to the attempt's outcome
(``storage.deliveries.apply_outcomes``), in the same transaction: a delivery's
``attempt_count`` always equals the number of its attempts.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from core.clock import Clock, now_us
from core.ids import new_id
from storage.database import Database, Row
from storage.deliveries import apply_outcomes
from storage.records import Attempt, Delivery, Outcome

RESPONSE_BODY_LIMIT = 4096
_INSERT = (
    "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, "
    "request_headers, response_status, response_headers, response_body, error, "
    "error_detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
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


class Attempts:
    """Recording attempts (with their deliveries' new state) and listing them."""

    def __init__(self, db: Database, *, clock: Clock = now_us) -> None:
        self._db = db
        self._clock = clock

    async def record(self, outcomes: Sequence[tuple[str, Outcome]]) -> list[Delivery | None]:
        """Store each ``(delivery_id, outcome)`` as the delivery's next attempt and move
        the delivery to the outcome, all in one transaction (the relay group-commits).

        Every attempt is stored and counted, but only a delivery still ``pending`` takes
        ``outcome.status`` (see ``apply_outcomes``). The answer is aligned with
        ``outcomes``: each delivery after its attempt, None where it does not exist.

        However many attempts, it costs four round trips: the deliveries are updated by
        one statement over the batch and the attempts inserted by one ``executemany``
        (a delivery twice in a batch is updated in a second round).
        """
        now = self._clock()
        updated: list[Delivery | None] = [None] * len(outcomes)
        rows: list[tuple[object, ...]] = []
        async with self._db.transaction() as tx:
            for round_ in _rounds(outcomes):
                moved = await apply_outcomes(tx, [outcomes[i] for i in round_], now)
                for index in round_:
                    delivery_id, outcome = outcomes[index]
                    delivery = moved.get(delivery_id)
                    if delivery is not None:
                        updated[index] = delivery
                        rows.append(_values(delivery_id, delivery.attempt_count, outcome))
            if rows:
                await tx.executemany(_INSERT, rows)
        return updated

    async def for_delivery(self, delivery_id: str) -> list[Attempt]:
        """Every attempt of the delivery, first to last."""
        rows = await self._db.fetch(
            "SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY number", delivery_id
        )
        return [_attempt(row) for row in rows]


def _values(delivery_id: str, number: int, outcome: Outcome) -> tuple[object, ...]:
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
