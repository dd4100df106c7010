"""``GET /api/v1/stream`` against a real gateway app on both backends: records as a
client reads them, scoped by role, filtered, resumed with ``Last-Event-ID`` exactly.

Writes the relay would make (deliveries, attempts) go straight to storage, followed by
a wake-up published from a client of its own, as the worker's recorder publishes one.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient
from arq.connections import ArqRedis

from core.ids import new_id
from core.wakeups import Wakeups
from gateway.api.stream import FEED_POLL_S, HEARTBEAT_S
from gateway.app import create_app
from storage.records import Subscription, Target
from tests.gateway.api.conftest import (
    Api,
    add_attempt,
    add_delivery,
    add_event,
    add_subscription,
)
from tests.gateway.conftest import REDIS_URL, gateway_config, signed_case, source_name

WAIT_S = 10.0


@dataclass(frozen=True)
class Sse:
    """One SSE record as a client parses it (``data`` decoded from JSON)."""

    id: str | None
    event: str | None
    data: Any
    comment: bool = False


class SseClient:
    """An open stream, read one record at a time."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, *, comments: bool = False) -> Sse:
        """The next record (comments skipped unless ``comments``); bounded wait."""
        async with asyncio.timeout(WAIT_S):
            while True:
                record = await self._read_block()
                if record.event is not None or (comments and record.comment):
                    return record

    async def take(self, count: int) -> list[Sse]:
        """The next ``count`` records."""
        return [await self.next() for _ in range(count)]

    async def _read_block(self) -> Sse:
        fields: dict[str, str] = {}
        comment = False
        while True:
            line = await self.response.content.readline()
            if not line:
                raise EOFError("the stream ended")
            text = line.decode().rstrip("\n")
            if not text:
                if fields or comment:
                    data = orjson.loads(fields["data"]) if "data" in fields else None
                    return Sse(fields.get("id"), fields.get("event"), data, comment)
                continue
            if text.startswith(":"):
                comment = True
                continue
            name, _, value = text.partition(": ")
            fields[name] = value


async def open_stream(
    client: TestClient[Any, Any], key: str, last_event_id: str | None = None, **params: str
) -> SseClient:
    """``GET /api/v1/stream`` with ``key``; the response headers are in."""
    headers = {"Authorization": f"Bearer {key}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    response = await client.get("/api/v1/stream", params=params, headers=headers)
    assert 200 == response.status, await response.text()
    assert response.content_type == "text/event-stream"
    return SseClient(response)


@pytest.fixture
async def worker_wakeups() -> AsyncIterator[Wakeups]:
    """Wake-ups published from outside the gateway, as the worker publishes them."""
    wakeups = Wakeups.connect(REDIS_URL)
    yield wakeups
    await wakeups.close()


async def settle(api: Api) -> None:
    """Let the gateway's feed subscribe to wake-ups before anything is written."""
    await asyncio.sleep(0.2)


def summary(record: Sse) -> tuple[Any, ...]:
    """An ``event`` record as (kind, id, source, type); an ``attempt`` as (kind,
    delivery, number, status, response status)."""
    if record.event == "event":
        return ("event", record.data["id"], record.data["source"], record.data["type"])
    data = record.data
    return ("attempt", data["delivery_id"], data["number"], data["status"], data["response_status"])


async def test_an_ingested_event_and_a_recorded_attempt_arrive(
    api: Api, worker_wakeups: Wakeups
) -> None:
    """A webhook posted to /ingest is an ``event`` record with its fields; an attempt
    the relay records is an ``attempt`` record naming its delivery, target and answer."""
    stream = await open_stream(api.client, api.callers["operator"].key)
    await settle(api)
    case = signed_case("github", int(time.time()))
    ingested = await api.client.post(
        f"/ingest/{source_name('github')}",
        data=case.request.body,
        headers=dict(case.request.headers),
    )
    event_id = (await ingested.json())["id"]

    event = await stream.next()
    subscription = await add_subscription(api.storage, api.user("member"))
    delivery = await add_delivery(api.storage, subscription, event_id)
    await add_attempt(api.storage, delivery, 503, final=False)
    worker_wakeups.notify()
    attempt = await stream.next()

    stored = await api.storage.events.get(event_id)
    assert {
        "id": event_id,
        "source": source_name("github"),
        "type": stored.type,
        "received_at": event.data["received_at"],
        "provider_event_id": stored.provider_event_id,
    } == event.data
    assert {
        "delivery_id": delivery.id,
        "event_id": event_id,
        "subscription_id": subscription.id,
        "target": subscription.fields.url,
        "number": 1,
        "status": "pending",
        "response_status": 503,
        "duration_ms": 12.5,
        "error": "http_status",
    } == attempt.data
    assert ("event", "attempt") == (event.event, attempt.event)
    assert None not in (event.id, attempt.id)


async def test_wakeups_bring_records_without_the_poll(
    aiohttp_client: Any, migrated_url: str, queue: ArqRedis, worker_wakeups: Wakeups
) -> None:
    """With the feed's safety poll an hour apart, an ingested event and an attempt the
    worker publishes still arrive: the wake-ups of ingest and of the worker bring them."""
    app = create_app(gateway_config(migrated_url))
    app[FEED_POLL_S] = 3600.0
    client: TestClient[Any, Any] = await aiohttp_client(app)
    api = Api(client, {})
    operator = await api.add_caller("operator", "operator")
    await api.add_caller("member", "member")
    stream = await open_stream(client, operator.key)
    case = signed_case("github", int(time.time()))
    ingested = await client.post(
        f"/ingest/{source_name('github')}",
        data=case.request.body,
        headers=dict(case.request.headers),
    )
    event_id = (await ingested.json())["id"]
    event = await stream.next()
    subscription = await add_subscription(api.storage, api.user("member"))
    delivery = await add_delivery(api.storage, subscription, event_id)
    await add_attempt(api.storage, delivery, 200, final=True)
    worker_wakeups.notify()
    attempt = await stream.next()

    assert (event_id, delivery.id) == (event.data["id"], attempt.data["delivery_id"])


async def test_a_member_hears_only_its_own(api: Api, worker_wakeups: Wakeups) -> None:
    """A member's stream carries the events dispatched to its subscriptions and their
    attempts, never another member's; an operator's carries everything."""
    member = await open_stream(api.client, api.callers["member"].key)
    other = await open_stream(api.client, api.callers["other"].key)
    operator = await open_stream(api.client, api.callers["operator"].key)
    await settle(api)
    mine = await add_subscription(api.storage, api.user("member"))
    theirs = await add_subscription(api.storage, api.user("other"))
    first = await add_event(api.storage, event_type="mine")
    second = await add_event(api.storage, event_type="theirs")
    [to_me] = (await api.storage.deliveries.create([(first, _targets(mine))], first_dispatch=True))[
        first
    ]
    [to_them] = (
        await api.storage.deliveries.create([(second, _targets(theirs))], first_dispatch=True)
    )[second]
    await add_attempt(api.storage, to_me, 200)
    await add_attempt(api.storage, to_them, 500)
    worker_wakeups.notify()

    heard_by_member = await member.take(2)
    heard_by_other = await other.take(2)
    heard_by_operator = await operator.take(4)

    assert [("event", first, "src-github", "mine"), ("attempt", to_me.id, 1, "succeeded", 200)] == [
        summary(record) for record in heard_by_member
    ]
    assert [
        ("event", second, "src-github", "theirs"),
        ("attempt", to_them.id, 1, "failed", 500),
    ] == [summary(record) for record in heard_by_other]
    assert [
        ("event", first, "src-github", "mine"),
        ("event", second, "src-github", "theirs"),
        ("attempt", to_me.id, 1, "succeeded", 200),
        ("attempt", to_them.id, 1, "failed", 500),
    ] == [summary(record) for record in heard_by_operator]


def _targets(subscription: Subscription) -> list[Target]:
    return [Target(subscription.id, subscription.fields.url)]


async def test_filters_keep_what_they_name(api: Api, worker_wakeups: Wakeups) -> None:
    """``source``, ``event_type`` (a pattern) and ``subscription_id`` each keep only the
    records they name (an event shows to a subscription's stream once delivered to it)."""
    key = api.callers["admin"].key
    by_source = await open_stream(api.client, key, source="src-stripe")
    by_type = await open_stream(api.client, key, event_type="invoice.*")
    subscription = await add_subscription(api.storage, api.user("member"))
    by_subscription = await open_stream(api.client, key, subscription_id=subscription.id)
    await settle(api)
    await add_event(api.storage, event_type="push")
    stripe = await add_event(api.storage, source="src-stripe", event_type="charge.paid")
    invoice = await add_event(api.storage, event_type="invoice.paid")
    delivery = await add_delivery(api.storage, subscription, invoice)
    await add_attempt(api.storage, delivery, 200)
    worker_wakeups.notify()

    assert [("event", stripe, "src-stripe", "charge.paid")] == [summary(await by_source.next())]
    assert [
        ("event", invoice, "src-github", "invoice.paid"),
        ("attempt", delivery.id, 1, "succeeded", 200),
    ] == [summary(record) for record in await by_type.take(2)]
    assert [
        ("event", invoice, "src-github", "invoice.paid"),
        ("attempt", delivery.id, 1, "succeeded", 200),
    ] == [summary(record) for record in await by_subscription.take(2)]


async def test_last_event_id_resumes_with_a_late_commit_and_no_repeat(api: Api) -> None:
    """An event committed after a later one, with a smaller id than one already sent,
    is still heard, once, live and again when a stream resumes from before it; a stream
    resumed after it hears only what followed."""
    key = api.callers["admin"].key
    live = await open_stream(api.client, key)
    await settle(api)
    first = await add_event(api.storage, event_type="first")
    [heard_first] = await live.take(1)
    late_id = new_id("evt", int(time.time() * 1000) - 60_000)
    assert late_id < first
    async with api.storage.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO events (id, source, type, provider_event_id, received_at, headers, "
            "body) VALUES ($1, 'src-github', 'late', $2, $3, '{}', $4)",
            late_id,
            secrets.token_hex(8),
            int(time.time() * 1_000_000),
            b"{}",
        )
        # Stored (and, on PostgreSQL, committed) while the late one is still open.
        after = asyncio.create_task(add_event(api.storage, event_type="after"))
        await asyncio.sleep(0.2)
    second = await after
    heard_live = await live.take(2)
    resumed = await open_stream(api.client, key, last_event_id=heard_first.id)
    heard_resumed = await resumed.take(2)
    from_late = await open_stream(api.client, key, last_event_id=heard_live[0].id)
    [heard_from_late] = await from_late.take(1)

    expected = [("event", late_id, "src-github", "late"), ("event", second, "src-github", "after")]
    assert expected == [summary(record) for record in heard_live]
    assert expected == [summary(record) for record in heard_resumed]
    assert [heard.id for heard in heard_live] == [heard.id for heard in heard_resumed]
    assert expected[1:] == [summary(heard_from_late)]


async def test_resume_reads_storage_for_what_was_missed(api: Api) -> None:
    """Events stored while no stream was open are sent, in order, to a stream resuming
    from the last id it had, before anything new."""
    key = api.callers["admin"].key
    live = await open_stream(api.client, key)
    await settle(api)
    await add_event(api.storage, event_type="seen")
    [seen] = await live.take(1)
    live.response.close()
    missed = [await add_event(api.storage, event_type=f"missed-{n}") for n in range(3)]

    resumed = await open_stream(api.client, key, last_event_id=seen.id)
    await settle(api)
    new = await add_event(api.storage, event_type="new")

    assert [*missed, new] == [record.data["id"] for record in await resumed.take(4)]


async def test_a_bad_last_event_id_is_a_400(api: Api) -> None:
    """A ``Last-Event-ID`` that is no position of this stream is refused, saying so."""
    answer = await api.call("GET", "/stream", headers={"Last-Event-ID": "evt_123"})

    assert (400, "Last-Event-ID is not a position of this stream") == (
        answer.status,
        answer.body["detail"],
    )


async def test_heartbeat_comment_when_idle(
    aiohttp_client: Any, migrated_url: str, queue: ArqRedis
) -> None:
    """An idle stream sends a comment every heartbeat interval (here 0.05 s)."""
    app = create_app(gateway_config(migrated_url))
    app[HEARTBEAT_S] = 0.05
    client: TestClient[Any, Any] = await aiohttp_client(app)
    api = Api(client, {})
    caller = await api.add_caller("admin", "admin")
    stream = await open_stream(client, caller.key)

    record = await stream.next(comments=True)

    assert (True, None) == (record.comment, record.event)


async def test_shutdown_ends_open_streams(api: Api) -> None:
    """Stopping the server ends an open stream (the client reads its end) instead of
    waiting for it."""
    stream = await open_stream(api.client, api.callers["admin"].key)

    closing = asyncio.create_task(api.client.server.close())
    with pytest.raises(EOFError):
        await stream.next()
    await asyncio.wait_for(closing, WAIT_S)
