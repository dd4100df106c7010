"""Idempotency keys on both backends: what a key holds, when it expires, and a claim
whose request never finished being taken over."""

from __future__ import annotations

from storage import Storage
from storage.idempotency import ABANDONED_S, TTL_S, IdempotencyKeys, Recorded, StoredResponse

SECOND = 1_000_000
START = 1_800_000_000 * SECOND


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        """The time now."""
        return self.now


async def keys_and_user(storage: Storage) -> tuple[IdempotencyKeys, Clock, str]:
    """The repository on a frozen clock, and a user to own keys."""
    clock = Clock()
    user, _ = await storage.users.create("Ops", "ops@example.com", "operator")
    return IdempotencyKeys(storage.db, clock=clock), clock, user.id


async def test_a_key_holds_its_first_response_until_it_expires(storage: Storage) -> None:
    """Claimed (None), in flight, answered; after 24 h it is claimable afresh."""
    keys, clock, user_id = await keys_and_user(storage)
    response = StoredResponse(202, {"Location": "/api/v1/jobs/job_1"}, b'{"id": "job_1"}')

    claimed = await keys.begin(user_id, "k", "fp")
    in_flight = await keys.begin(user_id, "k", "fp")
    await keys.finish(user_id, "k", response)
    answered = await keys.begin(user_id, "k", "other")
    clock.now += TTL_S * SECOND
    expired = await keys.begin(user_id, "k", "other")

    assert (None, Recorded("fp", None)) == (claimed, in_flight)
    assert Recorded("fp", response) == answered
    assert expired is None


async def test_a_claim_whose_request_never_finished_is_taken_over(storage: Storage) -> None:
    """A released claim is free at once; an abandoned one after ``ABANDONED_S``."""
    keys, clock, user_id = await keys_and_user(storage)
    await keys.begin(user_id, "released", "fp")
    await keys.release(user_id, "released")
    await keys.begin(user_id, "abandoned", "fp")

    again = await keys.begin(user_id, "released", "fp")
    clock.now += ABANDONED_S * SECOND
    taken_over = await keys.begin(user_id, "abandoned", "fp")

    assert (None, None) == (again, taken_over)


async def test_purge_deletes_expired_keys_only(storage: Storage) -> None:
    """Old keys go in a bounded batch; a fresh one stays."""
    keys, clock, user_id = await keys_and_user(storage)
    for name in ("a", "b", "c"):
        await keys.begin(user_id, name, "fp")
    clock.now += TTL_S * SECOND
    await keys.begin(user_id, "fresh", "fp")

    first = await keys.purge_expired(limit=2)
    second = await keys.purge_expired(limit=2)

    assert (2, 1) == (first, second)
    assert Recorded("fp", None) == await keys.begin(user_id, "fresh", "fp")
