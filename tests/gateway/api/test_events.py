"""``/events``: list with filters, get with the raw body, replay."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis

from core.queue import DELIVER
from tests.gateway.api.conftest import Api, add_delivery, add_event, add_subscription, now_us

PROBLEM = "application/problem+json"


def rfc3339(micros: int) -> str:
    """``micros`` as an RFC 3339 UTC time, for a query string."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    return moment.isoformat().replace("+00:00", "Z")


async def test_get_shows_raw_body_and_parsed_json(api: Api) -> None:
    """GET /events/{id}: headers, ``body_base64`` exact, ``body`` parsed when JSON."""
    event_id = await add_event(api.storage, body=b'{"action": "opened", "n": 1}')

    answer = await api.call("GET", f"/events/{event_id}", as_="operator")

    assert 200 == answer.status
    assert b'{"action": "opened", "n": 1}' == base64.b64decode(answer.body["body_base64"])
    assert {"action": "opened", "n": 1} == answer.body["body"]
    assert {"content-type": "application/json"} == answer.body["headers"]
    assert ("src-github", "push") == (answer.body["source"], answer.body["type"])


async def test_get_of_a_non_json_body_has_null_body(api: Api) -> None:
    """A form-encoded body is only base64; ``body`` is null."""
    event_id = await add_event(
        api.storage, body=b"payload=%7B%7D&x=\xff", content_type="application/x-www-form-urlencoded"
    )

    answer = await api.call("GET", f"/events/{event_id}")

    assert (None, b"payload=%7B%7D&x=\xff") == (
        answer.body["body"],
        base64.b64decode(answer.body["body_base64"]),
    )


async def test_unknown_event_is_404(api: Api) -> None:
    """GET and replay of an unknown event are 404 problems."""
    missing = await api.call("GET", "/events/evt_nope")
    replay = await api.call("POST", "/events/evt_nope/replay")

    assert (404, PROBLEM, 404) == (missing.status, missing.content_type, replay.status)


async def test_list_filters_by_source_type_and_time(api: Api) -> None:
    """``source``, ``event_type``, ``since`` (inclusive) and ``until`` (exclusive)."""
    start = now_us() - 10_000_000
    old = await add_event(api.storage, event_type="push", received_at=start)
    mid = await add_event(api.storage, event_type="issues", received_at=start + 1_000_000)
    new = await add_event(api.storage, source="src-stripe", received_at=start + 2_000_000)

    everything = await api.call("GET", "/events")
    by_source = await api.call("GET", "/events?source=src-github")
    by_type = await api.call("GET", "/events?event_type=issues")
    window = await api.call(
        "GET", f"/events?since={rfc3339(start + 1_000_000)}&until={rfc3339(start + 2_000_000)}"
    )
    no_body = everything.body["data"][0]

    assert [new, mid, old] == [e["id"] for e in everything.body["data"]]
    assert [mid, old] == [e["id"] for e in by_source.body["data"]]
    assert [mid] == [e["id"] for e in by_type.body["data"]]
    assert [mid] == [e["id"] for e in window.body["data"]]
    assert "body" not in no_body
    assert "body_base64" not in no_body


async def test_bad_filters_are_422_in_query(api: Api) -> None:
    """A naive time, a filter of another resource, a bad limit or cursor: 422 per parameter."""
    naive = await api.call("GET", "/events?since=2024-01-01T00:00:00")
    foreign = await api.call("GET", "/events?status=failed")
    zero = await api.call("GET", "/events?limit=0")
    cursor = await api.call("GET", "/events?cursor=%21%21")
    twice = await api.call("GET", "/events?source=a&source=b")

    for answer, field in [
        (naive, "since"),
        (foreign, "status"),
        (zero, "limit"),
        (cursor, "cursor"),
        (twice, "source"),
    ]:
        assert (422, [("query", field)]) == (
            answer.status,
            [(e["location"], e["field"]) for e in answer.body["errors"]],
        )


async def test_limit_above_the_maximum_is_clamped(api: Api) -> None:
    """``limit=10000`` is served as 250 per page."""
    for _ in range(3):
        await add_event(api.storage)

    answer = await api.call("GET", "/events?limit=10000")

    assert (200, 3, None) == (answer.status, len(answer.body["data"]), answer.body["next_cursor"])


async def test_members_see_only_events_behind_their_deliveries(api: Api) -> None:
    """A member lists and reads only events delivered to its subscriptions."""
    mine = await add_subscription(api.storage, api.user("member"))
    theirs = await add_subscription(api.storage, api.user("other"))
    my_delivery = await add_delivery(api.storage, mine)
    their_delivery = await add_delivery(api.storage, theirs)
    orphan = await add_event(api.storage)

    listed = await api.call("GET", "/events", as_="member")
    own = await api.call("GET", f"/events/{my_delivery.event_id}", as_="member")
    other = await api.call("GET", f"/events/{their_delivery.event_id}", as_="member")
    undelivered = await api.call("GET", f"/events/{orphan}", as_="member")

    assert [my_delivery.event_id] == [e["id"] for e in listed.body["data"]]
    assert (200, 404, 404) == (own.status, other.status, undelivered.status)


async def test_replay_creates_fresh_deliveries_to_matching_targets(
    api: Api, queue: ArqRedis
) -> None:
    """Replay: a new delivery per matching enabled subscription, and a ``deliver`` job."""
    matching = await add_subscription(api.storage, api.user("member"), sources=("src-github",))
    await add_subscription(api.storage, api.user("member"), sources=("src-stripe",))
    await add_subscription(api.storage, api.user("other"), enabled=False)
    first = await add_delivery(api.storage, matching)

    answer = await api.call("POST", f"/events/{first.event_id}/replay", as_="operator")

    assert 202 == answer.status
    replayed = answer.body["data"]
    assert [(matching.id, "pending")] == [(d["subscription_id"], d["status"]) for d in replayed]
    assert first.id != replayed[0]["id"]
    all_deliveries = (await api.storage.deliveries.page(event_id=first.event_id)).items
    assert {first.id, replayed[0]["id"]} == {d.id for d in all_deliveries}
    jobs = await queue.queued_jobs()
    assert [(DELIVER, [[replayed[0]["id"]]])] == [(job.function, list(job.args)) for job in jobs]
