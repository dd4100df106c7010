"""``/deliveries``: list with filters, get with attempts, retry."""

from __future__ import annotations

from arq.connections import ArqRedis

from core.queue import DELIVER
from tests.gateway.api.conftest import Api, add_attempt, add_delivery, add_subscription
from tests.gateway.api.test_events import rfc3339

PROBLEM = "application/problem+json"


async def test_get_shows_every_attempt_first_to_last(api: Api) -> None:
    """GET /deliveries/{id}: the delivery and each attempt with request and response."""
    subscription = await add_subscription(api.storage, api.user("member"))
    delivery = await add_delivery(api.storage, subscription)
    await add_attempt(api.storage, delivery, None, error="timeout", final=False)
    await add_attempt(api.storage, delivery, 500)

    answer = await api.call("GET", f"/deliveries/{delivery.id}", as_="member")

    assert 200 == answer.status
    body = answer.body
    assert (subscription.id, subscription.fields.url, "failed", 2, 500) == (
        body["subscription_id"],
        body["target"],
        body["status"],
        body["attempt_count"],
        body["last_status_code"],
    )
    attempts = body["attempts"]
    assert [1, 2] == [a["number"] for a in attempts]
    assert [None, 500] == [a["response_status"] for a in attempts]
    assert ["timeout", "http_status"] == [a["error"] for a in attempts]
    assert "answer \ufffd" == attempts[1]["response_body"]
    assert {"webhook-id": delivery.event_id, "webhook-signature": "<redacted>"} == (
        attempts[0]["request_headers"]
    )
    assert 12.5 == attempts[0]["duration_ms"]
    assert attempts[0]["started_at"].endswith("Z")


async def test_list_filters(api: Api) -> None:
    """``status``, ``subscription_id``, ``event_id``, ``since`` and ``until``."""
    first_sub = await add_subscription(api.storage, api.user("member"))
    second_sub = await add_subscription(api.storage, api.user("member"))
    failed = await add_attempt(api.storage, await add_delivery(api.storage, first_sub), 500)
    pending = await add_delivery(api.storage, second_sub)
    sibling = await add_delivery(api.storage, first_sub, pending.event_id)

    by_status = await api.call("GET", "/deliveries?status=failed")
    by_sub = await api.call("GET", f"/deliveries?subscription_id={second_sub.id}")
    by_event = await api.call("GET", f"/deliveries?event_id={pending.event_id}")
    since = await api.call("GET", f"/deliveries?since={rfc3339(pending.created_at)}")
    until = await api.call("GET", f"/deliveries?until={rfc3339(pending.created_at)}")
    bad_status = await api.call("GET", "/deliveries?status=lost")

    assert [failed.id] == [d["id"] for d in by_status.body["data"]]
    assert [pending.id] == [d["id"] for d in by_sub.body["data"]]
    assert [sibling.id, pending.id] == [d["id"] for d in by_event.body["data"]]
    assert [sibling.id, pending.id] == [d["id"] for d in since.body["data"]]
    assert [failed.id] == [d["id"] for d in until.body["data"]]
    assert (422, ["status"]) == (bad_status.status, [e["field"] for e in bad_status.body["errors"]])


async def test_members_see_only_their_deliveries(api: Api) -> None:
    """A member lists and reads its subscriptions' deliveries only."""
    mine = await add_delivery(api.storage, await add_subscription(api.storage, api.user("member")))
    theirs = await add_delivery(api.storage, await add_subscription(api.storage, api.user("other")))

    listed = await api.call("GET", "/deliveries", as_="member")
    everything = await api.call("GET", "/deliveries", as_="operator")
    other = await api.call("GET", f"/deliveries/{theirs.id}", as_="member")

    assert [mine.id] == [d["id"] for d in listed.body["data"]]
    assert [theirs.id, mine.id] == [d["id"] for d in everything.body["data"]]
    assert 404 == other.status


async def test_retry_makes_a_failed_delivery_pending_and_enqueues_it(
    api: Api, queue: ArqRedis
) -> None:
    """retry: 202, pending and due now, attempts kept, a ``deliver`` job."""
    subscription = await add_subscription(api.storage, api.user("member"))
    delivery = await add_attempt(api.storage, await add_delivery(api.storage, subscription), 500)

    answer = await api.call("POST", f"/deliveries/{delivery.id}/retry", as_="operator")

    assert (202, "pending", 1) == (
        answer.status,
        answer.body["status"],
        answer.body["attempt_count"],
    )
    assert answer.body["next_attempt_at"] is not None
    jobs = await queue.queued_jobs()
    assert [(DELIVER, [[delivery.id]])] == [(job.function, list(job.args)) for job in jobs]


async def test_retry_of_a_gone_or_disabled_subscription_is_409(api: Api) -> None:
    """Retrying toward a deleted or disabled subscription would only be cancelled: 409."""
    deleted_sub = await add_subscription(api.storage, api.user("member"))
    disabled_sub = await add_subscription(api.storage, api.user("member"))
    to_deleted = await add_delivery(api.storage, deleted_sub)
    to_disabled = await add_delivery(api.storage, disabled_sub)
    await api.storage.subscriptions.delete(deleted_sub.id)
    await api.storage.subscriptions.disable(disabled_sub.id, "gone")

    deleted = await api.call("POST", f"/deliveries/{to_deleted.id}/retry")
    disabled = await api.call("POST", f"/deliveries/{to_disabled.id}/retry")
    unknown = await api.call("POST", "/deliveries/dlv_nope/retry")

    assert (409, 409, 404) == (deleted.status, disabled.status, unknown.status)
