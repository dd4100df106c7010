"""Bulk retry and replay as stored jobs, through the API on both backends: what a dry run
counts, who may touch what, the filters' 422s, following and cancelling a job, and
``Idempotency-Key``. The jobs are run by the relay's bulk runner in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.queue import Queue
from gateway.api.idempotency import fingerprint
from relay.bulk import BulkRunner
from storage.records import Delivery, Subscription
from tests.gateway.api.conftest import (
    Answer,
    Api,
    add_attempt,
    add_delivery,
    add_event,
    add_subscription,
)
from tests.gateway.conftest import REDIS_URL

RETRY = "/deliveries/retry"


@pytest.fixture
async def runner(api: Api) -> AsyncIterator[BulkRunner]:
    """The bulk runner a worker would run, on the API's storage and queue."""
    queue = Queue.connect(REDIS_URL)
    yield BulkRunner(storage=api.storage, queue=queue, handlers=(), poll_interval_s=1)
    await queue.close()


async def failed(api: Api, subscription: Subscription, event_type: str = "push") -> Delivery:
    """A delivery to ``subscription`` whose attempts are exhausted."""
    event_id = await add_event(api.storage, event_type=event_type)
    return await add_attempt(
        api.storage, await add_delivery(api.storage, subscription, event_id), 500
    )


async def statuses(api: Api, deliveries: list[Delivery]) -> list[str]:
    """The status of each of ``deliveries`` now."""
    return [(await api.storage.deliveries.get(d.id)).status for d in deliveries]


def fields(answer: Answer) -> list[str]:
    """The fields a 422 names."""
    return [error["field"] for error in answer.body["errors"]]


async def test_a_dry_run_counts_what_each_caller_may_retry(api: Api) -> None:
    """A dry run answers 200 with the count, scoped to a member's own subscriptions, and
    filtered by status and event-type pattern; it changes nothing."""
    mine = await add_subscription(api.storage, api.user("member"))
    theirs = await add_subscription(api.storage, api.user("other"))
    own = [await failed(api, mine, "issues.opened") for _ in range(2)] + [await failed(api, mine)]
    others = [await failed(api, theirs) for _ in range(2)]
    await add_attempt(api.storage, await add_delivery(api.storage, mine), 200)

    counts = {
        who: (await api.call("POST", RETRY, as_=who, json={"dry_run": True})).body
        for who in ("admin", "operator", "member", "other")
    }
    patterned = await api.call(
        "POST", RETRY, as_="member", json={"dry_run": True, "event_type": "issues.*"}
    )
    every = await api.call("POST", RETRY, json={"dry_run": True, "status": ["failed", "succeeded"]})

    expected = {who: {"matched": n} for who, n in (("admin", 5), ("operator", 5))}
    assert {**expected, "member": {"matched": 3}, "other": {"matched": 2}} == counts
    assert (200, {"matched": 2}) == (patterned.status, patterned.body)
    assert {"matched": 6} == every.body
    assert ["failed"] * 5 == await statuses(api, own + others)
    assert [] == (await api.call("GET", "/jobs")).body["data"]


async def test_a_members_retry_never_touches_another_members_deliveries(
    api: Api, runner: BulkRunner
) -> None:
    """A member's job counts and retries its own failed deliveries only; the other member
    cannot see the job (404) nor finds it in its list."""
    mine = await add_subscription(api.storage, api.user("member"))
    theirs = await add_subscription(api.storage, api.user("other"))
    own = [await failed(api, mine) for _ in range(3)]
    others = [await failed(api, theirs) for _ in range(2)]

    created = await api.call("POST", RETRY, as_="member", json={})
    await runner.run_due()
    job = await api.call("GET", created.headers["Location"].removeprefix("/api/v1"), as_="member")

    assert (202, "retry", "running", 3) == (
        created.status,
        created.body["kind"],
        created.body["status"],
        created.body["matched"],
    )
    assert f"/api/v1/jobs/{created.body['id']}" == created.headers["Location"]
    assert ("succeeded", 3, 3, 0) == (
        job.body["status"],
        job.body["matched"],
        job.body["done"],
        job.body["skipped"],
    )
    assert ["pending"] * 3 + ["failed"] * 2 == await statuses(api, own + others)
    assert 404 == (await api.call("GET", f"/jobs/{created.body['id']}", as_="other")).status
    assert [] == (await api.call("GET", "/jobs", as_="other")).body["data"]
    listed = await api.call("GET", "/jobs", as_="operator")
    assert [created.body["id"]] == [row["id"] for row in listed.body["data"]]


async def test_a_retry_skips_deliveries_whose_subscription_is_gone_or_disabled(
    api: Api, runner: BulkRunner
) -> None:
    """As a single retry refuses them, a bulk retry skips them and says how many."""
    live = await add_subscription(api.storage, api.user("member"))
    disabled = await add_subscription(api.storage, api.user("member"))
    deleted = await add_subscription(api.storage, api.user("member"))
    kept = [await failed(api, live), await failed(api, disabled), await failed(api, deleted)]
    await api.call("PATCH", f"/subscriptions/{disabled.id}", json={"enabled": False})
    await api.call("DELETE", f"/subscriptions/{deleted.id}")

    created = await api.call("POST", RETRY, json={})
    await runner.run_due()
    job = await api.call("GET", f"/jobs/{created.body['id']}")

    assert (3, 3, 2) == (job.body["matched"], job.body["done"], job.body["skipped"])
    assert ["pending", "failed"] == (await statuses(api, kept))[:2]


async def test_a_replay_gives_every_matched_event_fresh_deliveries(
    api: Api, runner: BulkRunner
) -> None:
    """Events of the chosen types get one new delivery per current target; others none."""
    subscription = await add_subscription(api.storage, api.user("member"))
    chosen = [await add_event(api.storage, event_type="issues.opened") for _ in range(3)]
    other = await add_event(api.storage, event_type="push")

    dry = await api.call("POST", "/events/replay", json={"event_type": "issues.*", "dry_run": True})
    created = await api.call(
        "POST", "/events/replay", as_="operator", json={"event_type": "issues.*"}
    )
    await runner.run_due()
    job = await api.call("GET", f"/jobs/{created.body['id']}", as_="operator")
    made = {
        event_id: [
            d.subscription_id for d in (await api.storage.deliveries.page(event_id=event_id)).items
        ]
        for event_id in [*chosen, other]
    }

    assert {"matched": 3} == dry.body
    assert ("replay", "succeeded", 3, 3) == (
        job.body["kind"],
        job.body["status"],
        job.body["matched"],
        job.body["done"],
    )
    assert {**{e: [subscription.id] for e in chosen}, other: []} == made


async def test_only_operators_and_admins_replay_in_bulk(api: Api) -> None:
    """A member's bulk replay is a 403."""
    answer = await api.call("POST", "/events/replay", as_="member", json={})
    assert 403 == answer.status


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "failed"}, "status"),
        ({"status": []}, "status"),
        ({"status": ["lost"]}, "status[0]"),
        ({"event_type": "issues..opened"}, "event_type"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"statuses": ["failed"]}, "statuses"),
    ],
)
async def test_bad_filters_are_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    """Each bad filter answers problem+json whose errors name it; no job is made."""
    answer = await api.call("POST", RETRY, json=body)
    assert (422, "application/problem+json", [field]) == (
        answer.status,
        answer.content_type,
        fields(answer),
    )
    assert [] == (await api.call("GET", "/jobs")).body["data"]


async def test_a_job_is_cancelled_before_its_next_batch(api: Api) -> None:
    """Cancel answers the job cancelled (again: the same); its runner then applies
    nothing; a job that already finished is a 409; an unknown job a 404."""
    subscription = await add_subscription(api.storage, api.user("member"))
    deliveries = [await failed(api, subscription) for _ in range(2)]
    created = await api.call("POST", RETRY, json={})
    nothing = await api.call("POST", RETRY, json={"status": ["cancelled"]})

    cancelled = await api.call("POST", f"/jobs/{created.body['id']}/cancel")
    again = await api.call("POST", f"/jobs/{created.body['id']}/cancel")
    queue = Queue.connect(REDIS_URL)
    try:
        await BulkRunner(storage=api.storage, queue=queue, handlers=(), poll_interval_s=1).run_due()
    finally:
        await queue.close()
    finished = await api.call("POST", f"/jobs/{nothing.body['id']}/cancel")
    unknown = await api.call("POST", "/jobs/job_01JD0Q6Y1M9ZC8X4W7S5T3R2QP/cancel")

    assert (200, "cancelled", 0) == (
        cancelled.status,
        cancelled.body["status"],
        cancelled.body["done"],
    )
    assert cancelled.body == again.body
    assert ["failed", "failed"] == await statuses(api, deliveries)
    assert ("succeeded", 409) == (nothing.body["status"], finished.status)
    assert 404 == unknown.status
    assert 404 == (await api.call("GET", "/jobs/job_01JD0Q6Y1M9ZC8X4W7S5T3R2QP")).status


async def test_the_same_idempotency_key_answers_the_first_response_again(api: Api) -> None:
    """The same key and body answer the first 202 (body, Location) without a second job;
    another user's same key is its own."""
    subscription = await add_subscription(api.storage, api.user("member"))
    await failed(api, subscription)
    key = {"Idempotency-Key": "retry-after-the-outage"}

    first = await api.call("POST", RETRY, json={}, headers=key)
    second = await api.call("POST", RETRY, json={}, headers=key)
    operators = await api.call("POST", RETRY, as_="operator", json={}, headers=key)
    jobs = await api.call("GET", "/jobs")

    assert (202, first.body, first.headers["Location"]) == (
        second.status,
        second.body,
        second.headers["Location"],
    )
    assert "true" == second.headers["Idempotent-Replayed"]
    assert "Idempotent-Replayed" not in first.headers
    assert operators.body["id"] != first.body["id"]
    assert {first.body["id"], operators.body["id"]} == {row["id"] for row in jobs.body["data"]}


async def test_an_idempotency_key_with_another_body_is_422(api: Api) -> None:
    """Reusing a key for another request names ``Idempotency-Key`` and does nothing."""
    key = {"Idempotency-Key": "k-1"}
    await api.call("POST", RETRY, json={"dry_run": True}, headers=key)

    answer = await api.call("POST", RETRY, json={}, headers=key)

    assert (422, ["Idempotency-Key"]) == (answer.status, fields(answer))
    assert "header" == answer.body["errors"][0]["location"]
    assert [] == (await api.call("GET", "/jobs")).body["data"]


async def test_an_idempotency_key_still_in_flight_is_409(api: Api) -> None:
    """A second request while the first (same key, same body) is running is a 409."""
    body = b'{"dry_run": true}'
    await api.storage.idempotency.begin(
        api.user("admin").id, "k-2", fingerprint("POST", f"/api/v1{RETRY}", body)
    )

    answer = await api.call("POST", RETRY, data=body, headers={"Idempotency-Key": "k-2"})

    assert (409, "application/problem+json") == (answer.status, answer.content_type)


async def test_a_malformed_idempotency_key_is_422(api: Api) -> None:
    """A key longer than 255 characters is refused, naming the header."""
    answer = await api.call("POST", RETRY, json={}, headers={"Idempotency-Key": "k" * 256})
    assert (422, ["Idempotency-Key"]) == (answer.status, fields(answer))
