"""Endpoint health, subscription stats, the overview and the event-type catalog through
the API, on both backends."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

import pytest

from gateway.api.times import to_datetime
from storage.records import Outcome
from tests.gateway.api.conftest import (
    Api,
    add_attempt,
    add_delivery,
    add_event,
    add_subscription,
    now_us,
)

SECOND = 1_000_000


async def test_health_states(api: Api) -> None:
    """A new subscription is healthy; after failures it is failing with their count and
    first time; with its breaker open, breaker_open; once disabled, disabled."""
    storage = api.storage
    healthy = await add_subscription(storage, api.user("member"))
    failing = await add_subscription(storage, api.user("member"))
    tripped = await add_subscription(storage, api.user("member"))
    disabled = await add_subscription(storage, api.user("member"))
    since = now_us()
    for sub in (failing, tripped):
        await storage.subscriptions.note_failure(sub.id, since)
        await storage.subscriptions.note_failure(sub.id, since + SECOND)
    await storage.subscriptions.open_breaker(tripped.id, since + 60 * SECOND)
    await storage.subscriptions.disable(disabled.id, "the endpoint answered 410 Gone")

    page = await api.call("GET", "/subscriptions", as_="member")
    shown = {row["id"]: row["health"] for row in page.body["data"]}
    one = await api.call("GET", f"/subscriptions/{failing.id}", as_="member")

    states = {sub.id: shown[sub.id]["state"] for sub in (healthy, failing, tripped, disabled)}
    assert {
        healthy.id: "healthy",
        failing.id: "failing",
        tripped.id: "breaker_open",
        disabled.id: "disabled",
    } == states
    assert {
        "state": "failing",
        "consecutive_failures": 2,
        "failing_since": to_datetime(since).isoformat().replace("+00:00", "Z"),
        "last_success_at": None,
        "last_failure_at": None,
    } == one.body["health"]


async def test_attempts_show_last_success_and_failure(api: Api) -> None:
    """After a failed then a successful attempt, the health shows both times."""
    storage = api.storage
    sub = await add_subscription(storage, api.user("member"))
    failed = await add_attempt(storage, await add_delivery(storage, sub), 500)
    succeeded = await add_attempt(storage, await add_delivery(storage, sub), 200)
    attempts = [
        (await storage.attempts.for_delivery(d.id))[0].started_at for d in (failed, succeeded)
    ]

    health = (await api.call("GET", f"/subscriptions/{sub.id}", as_="member")).body["health"]

    shown = [datetime.fromisoformat(health[k]) for k in ("last_failure_at", "last_success_at")]
    assert [at // 1000 for at in attempts] == [int(t.timestamp() * 1000) for t in shown]


async def test_subscription_stats(api: Api) -> None:
    """Ten attempts of 10..100 ms, three failed: counts, rate, approximate nearest-rank
    percentiles, and the series holding them all, over the default 24 h window."""
    storage = api.storage
    sub = await add_subscription(storage, api.user("member"))
    now = now_us()
    outcomes = []
    for i in range(10):
        delivery = await add_delivery(storage, sub)
        ok = i >= 3
        outcomes.append(
            (
                delivery.id,
                Outcome(
                    started_at=now - i * SECOND,
                    duration_ms=10.0 * (i + 1),
                    request_headers={},
                    response_status=200 if ok else 503,
                    error=None if ok else "http_status",
                    status="succeeded" if ok else "failed",
                ),
            )
        )
    await storage.attempts.record(outcomes)

    answer = await api.call("GET", f"/subscriptions/{sub.id}/stats", as_="member")

    body = answer.body
    # Nearest-rank values 50, 100 and 100 ms, read as their histogram buckets' upper
    # bounds (50 ms is in the bucket up to 64 ms), never above the longest (100 ms).
    expected_latency = {"p50": 64.0, "p95": 100.0, "p99": 100.0}
    assert 200 == answer.status
    assert (86_400, 10, 7, 3, 0.7) == (
        body["window_s"],
        body["attempts"],
        body["succeeded"],
        body["failed"],
        body["success_rate"],
    )
    assert expected_latency == body["latency_ms"]
    assert (24, 7, 3) == (
        len(body["series"]),
        sum(b["succeeded"] for b in body["series"]),
        sum(b["failed"] for b in body["series"]),
    )


async def test_stats_series_has_window_buckets(api: Api) -> None:
    """A 12h window answers 24 half-hour buckets, oldest first, ending at about now."""
    sub = await add_subscription(api.storage, api.user("member"))

    body = (await api.call("GET", f"/subscriptions/{sub.id}/stats?window=12h")).body

    starts = [datetime.fromisoformat(b["start"]).timestamp() for b in body["series"]]
    steps = {round(b - a) for a, b in pairwise(starts)}
    assert (43_200, {1800}, None) == (body["window_s"], steps, body["success_rate"])


@pytest.mark.parametrize("window", ["31d", "0s", "soon", "2592001"])
async def test_window_out_of_range_is_422_naming_it(api: Api, window: str) -> None:
    """A window that is not a duration, or not within (0, 30d], is a 422 on ``window``,
    for a subscription's stats and for the overview alike."""
    sub = await add_subscription(api.storage, api.user("member"))

    answers = [
        await api.call("GET", f"/subscriptions/{sub.id}/stats?window={window}"),
        await api.call("GET", f"/stats?window={window}", as_="operator"),
    ]

    fields = [[e["field"] for e in a.body["errors"]] for a in answers]
    assert [(422, ["window"])] * 2 == [(a.status, f) for a, f in zip(answers, fields, strict=True)]


async def test_thirty_days_is_accepted(api: Api) -> None:
    """The longest window, 30d, is answered."""
    answer = await api.call("GET", "/stats?window=30d", as_="operator")

    assert (200, 2_592_000) == (answer.status, answer.body["window_s"])


async def test_member_cannot_read_anothers_stats(api: Api) -> None:
    """Another member's subscription stats are a 404, as if it did not exist; an
    operator reads them."""
    sub = await add_subscription(api.storage, api.user("other"))

    mine = await api.call("GET", f"/subscriptions/{sub.id}/stats", as_="member")
    operator = await api.call("GET", f"/subscriptions/{sub.id}/stats", as_="operator")

    assert (404, 200) == (mine.status, operator.status)


async def test_event_types_of_a_member_are_its_own(api: Api) -> None:
    """A member sees only the types of events delivered to its subscriptions, counted
    over those; an operator sees the whole catalog."""
    storage = api.storage
    mine = await add_subscription(storage, api.user("member"))
    theirs = await add_subscription(storage, api.user("other"))
    at = now_us()
    await add_delivery(storage, mine, await add_event(storage, event_type="push", received_at=at))
    await add_delivery(storage, theirs, await add_event(storage, event_type="push"))
    await add_delivery(storage, theirs, await add_event(storage, event_type="secret.merger"))

    member = await api.call("GET", "/event-types", as_="member")
    operator = await api.call("GET", "/event-types", as_="operator")

    assert [{"source": "src-github", "type": "push", "count": 1}] == [
        {k: row[k] for k in ("source", "type", "count")} for row in member.body["data"]
    ]
    assert [("push", 2), ("secret.merger", 1)] == [
        (row["type"], row["count"]) for row in operator.body["data"]
    ]
    seen = datetime.fromisoformat(member.body["data"][0]["last_seen_at"])
    assert at // 1000 == int(seen.timestamp() * 1000)


async def test_overview_from_a_seeded_state(api: Api) -> None:
    """Operators see events by source, deliveries by status, the pending backlog and the
    attempts series; members are refused."""
    storage = api.storage
    sub = await add_subscription(storage, api.user("member"))
    await add_attempt(storage, await add_delivery(storage, sub), 200)
    await add_attempt(storage, await add_delivery(storage, sub), 500)
    pending = await add_delivery(storage, sub)
    await add_event(storage, source="src-stripe")

    answer = await api.call("GET", "/stats", as_="operator")
    refused = await api.call("GET", "/stats", as_="member")

    body = answer.body
    assert {"src-github": 3, "src-stripe": 1} == body["events_by_source"]
    assert {"pending": 1, "succeeded": 1, "failed": 1, "cancelled": 0} == body[
        "deliveries_by_status"
    ]
    assert 1 == body["pending"]
    assert 0 <= body["oldest_pending_age_s"] < (now_us() - pending.created_at) / SECOND + 1
    assert (1, 1) == (
        sum(b["succeeded"] for b in body["series"]),
        sum(b["failed"] for b in body["series"]),
    )
    assert 403 == refused.status
