"""The ``attempts`` table: every try at a delivery, as sent and as answered.

Recording an attempt also moves its delivery to the attempt's outcome
(``storage.deliveries.apply_outcomes``), in the same transaction: a delivery's
``attempt_count`` always equals the number of its attempts. The same transaction
moves its subscription's ``last_success_at``/``last_failure_at`` forward
(``storage.subscriptions.note_attempt_times``: one statement per batch) and adds the
attempts to their hours' roll-ups (``storage.rollups``: one statement per batch).

Each row repeats its delivery's ``subscription_id`` and whether it ``succeeded``:
the stats (``storage.stats``) group by them over an index, never joining deliveries.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import orjson

from core.clock import Clock, now_us
from core.ids import new_id
from storage.database import Database, Row
from storage.deliveries import apply_outcomes
from storage.records import Attempt, Delivery, Outcome
from storage.rollups import add_attempts
from storage.subscriptions import AttemptTimes, note_attempt_times

RESPONSE_BODY_LIMIT = 4096
_INSERT = (
    "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, "
    "request_headers, response_status, response_headers, response_body, error, "
    "error_detail, subscription_id, succeeded) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
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

    async def record(
        self, outcomes: Sequence[tuple[str, Outcome]], clear: Collection[str] = ()
    ) -> list[Delivery | None]:
        """Store each ``(delivery_id, outcome)`` as the delivery's next attempt and move
        the delivery to the outcome, all in one transaction (the relay group-commits).
        The subscriptions in ``clear`` that succeeded in the batch have their failure
        counts and breakers cleared with it.

        Every attempt is stored and counted, but only a delivery still ``pending`` takes
        ``outcome.status`` (see ``apply_outcomes``). The answer is aligned with
        ``outcomes``: each delivery after its attempt, None where it does not exist.

        However many attempts, it costs six round trips: the deliveries are updated by
        one statement over the batch, the attempts inserted by one ``executemany``, the
        subscriptions' attempt times by another and the hourly roll-ups by a third (a
        delivery twice in a batch is updated in a second round).
        """
        now = self._clock()
        updated: list[Delivery | None] = [None] * len(outcomes)
        rows: list[tuple[object, ...]] = []
        tallied: list[tuple[str | None, int, bool, float]] = []
        async with self._db.transaction() as tx:
            for round_ in _rounds(outcomes):
                moved = await apply_outcomes(tx, [outcomes[i] for i in round_], now)
                for index in round_:
                    delivery_id, outcome = outcomes[index]
                    delivery = moved.get(delivery_id)
                    if delivery is not None:
                        updated[index] = delivery
                        rows.append(_values(delivery, outcome))
                        tallied.append(
                            (
                                delivery.subscription_id,
                                outcome.started_at,
                                outcome.succeeded,
                                outcome.duration_ms,
                            )
                        )
            if rows:
                await tx.executemany(_INSERT, rows)
                await note_attempt_times(tx, _times(outcomes, updated, clear))
                await add_attempts(tx, tallied)
        return updated

    async def for_delivery(self, delivery_id: str) -> list[Attempt]:
        """Every attempt of the delivery, first to last."""
        rows = await self._db.fetch(
            "SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY number", delivery_id
        )
        return [_attempt(row) for row in rows]


def _values(delivery: Delivery, outcome: Outcome) -> tuple[object, ...]:
    """The ``attempts`` row for ``outcome``, ``delivery``'s latest attempt."""
    return (
        new_id("att"),
        delivery.id,
        delivery.attempt_count,
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
        delivery.subscription_id,
        outcome.succeeded,
    )


def _times(
    outcomes: Sequence[tuple[str, Outcome]],
    recorded: Sequence[Delivery | None],
    clear: Collection[str],
) -> list[AttemptTimes]:
    """Per subscription in the batch, its latest success and failure (by start time)."""
    latest: dict[str, tuple[int | None, int | None]] = {}
    for (_, outcome), delivery in zip(outcomes, recorded, strict=True):
        if delivery is None or delivery.subscription_id is None:
            continue
        ok, bad = latest.get(delivery.subscription_id, (None, None))
        at = outcome.started_at
        if outcome.succeeded:
            ok = at if ok is None else max(ok, at)
        else:
            bad = at if bad is None else max(bad, at)
        latest[delivery.subscription_id] = (ok, bad)
    return [
        AttemptTimes(sub_id, ok, bad, clear=ok is not None and sub_id in clear)
        for sub_id, (ok, bad) in sorted(latest.items())
    ]


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
