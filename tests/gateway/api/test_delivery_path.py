"""The API's writes go through the real relay: a test event, a retry, a replay and a bulk
retry reach a real receiver on 127.0.0.1, signed so the stock ``standardwebhooks``
library verifies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from arq.connections import ArqRedis
from standardwebhooks.webhooks import Webhook

from core.queue import close_queue, connect_queue
from relay.runtime import Relay, open_relay
from relay.worker import close_worker, create_worker
from tests.gateway.api.conftest import Api, add_attempt, add_delivery, add_event, start_api
from tests.gateway.conftest import REDIS_URL, gateway_config

FAST_DELIVERY = {
    "timeout_s": 1,
    "max_attempts": 3,
    "backoff": {"initial_s": 0.05, "multiplier": 2, "max_s": 0.4, "jitter": 0},
    "sweep_interval_s": 0.05,
}
LOOPBACK = ["127.0.0.0/8"]


class Receiver:
    """Records what it is sent and answers 200."""

    def __init__(self) -> None:
        self.hits: list[tuple[bytes, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        """Record one delivery."""
        self.hits.append((await request.read(), dict(request.headers)))
        return web.Response(text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """A receiver on 127.0.0.1 and its URL."""
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield target, str(server.make_url("/hook"))
    await server.close()


@pytest.fixture
async def relay(migrated_url: str, queue: ArqRedis) -> AsyncIterator[Relay]:
    """The relay working from the gateway's queue, allowed to reach 127.0.0.1."""
    config = gateway_config(
        migrated_url, delivery=FAST_DELIVERY, security__allowed_target_networks=LOOPBACK
    )
    async with open_relay(config) as opened:
        yield opened


async def run_jobs(relay: Relay) -> None:
    """A real arq burst worker until the queue is empty."""
    redis = connect_queue(REDIS_URL)
    worker = create_worker(relay, redis, burst=True)
    try:
        await worker.main()
    finally:
        await close_worker(worker, redis)
        await close_queue(redis)


@pytest.fixture
async def loopback_api(aiohttp_client: Any, migrated_url: str, queue: ArqRedis) -> Api:
    """The API, allowed to register 127.0.0.1 targets."""
    return await start_api(aiohttp_client, migrated_url, security__allowed_target_networks=LOOPBACK)


async def test_test_event_is_delivered_and_verifiable(
    loopback_api: Api, relay: Relay, receiver: tuple[Receiver, str]
) -> None:
    """create subscription → test → the relay delivers it, signed with the secret shown
    at creation; GET /deliveries/{id} then shows it succeeded with one attempt."""
    api, (target, url) = loopback_api, receiver
    created = await api.call("POST", "/subscriptions", as_="member", json={"url": url})

    sent = await api.call("POST", f"/subscriptions/{created.body['id']}/test", as_="member")
    await run_jobs(relay)
    delivery = await api.call("GET", f"/deliveries/{sent.body['id']}", as_="member")

    assert 1 == len(target.hits)
    body, headers = target.hits[0]
    payload = Webhook(created.body["secret"]).verify(body, headers)
    assert ("hookgate.test", created.body["id"]) == (payload["type"], payload["subscription_id"])
    assert sent.body["event_id"] == headers["webhook-id"]
    assert ("succeeded", 1) == (delivery.body["status"], len(delivery.body["attempts"]))
    assert 200 == delivery.body["attempts"][0]["response_status"]


async def test_retry_and_replay_deliver_again(
    loopback_api: Api, relay: Relay, receiver: tuple[Receiver, str]
) -> None:
    """An operator's retry re-sends a delivery; a replay sends the event again as a new
    delivery with the same ``webhook-id``."""
    api, (target, url) = loopback_api, receiver
    created = await api.call(
        "POST", "/subscriptions", as_="member", json={"url": url, "sources": ["src-github"]}
    )
    event_id = await add_event(api.storage)
    replayed = await api.call("POST", f"/events/{event_id}/replay", as_="operator")
    await run_jobs(relay)
    delivery_id = replayed.body["data"][0]["id"]

    retried = await api.call("POST", f"/deliveries/{delivery_id}/retry", as_="operator")
    await run_jobs(relay)
    shown = await api.call("GET", f"/deliveries/{delivery_id}", as_="member")

    assert (202, [created.body["id"]]) == (
        replayed.status,
        [d["subscription_id"] for d in replayed.body["data"]],
    )
    assert 202 == retried.status
    assert [event_id, event_id] == [headers["webhook-id"] for _, headers in target.hits]
    assert ("succeeded", [1, 2]) == (
        shown.body["status"],
        [attempt["number"] for attempt in shown.body["attempts"]],
    )


async def test_a_bulk_retry_of_failed_deliveries_makes_them_succeed(
    loopback_api: Api, relay: Relay, receiver: tuple[Receiver, str]
) -> None:
    """Five deliveries failed (their attempts exhausted); a member's bulk retry sends each
    once more through the relay, the receiver gets every event once, all succeed, and the
    job says so."""
    api, (target, url) = loopback_api, receiver
    created = await api.call("POST", "/subscriptions", as_="member", json={"url": url})
    subscription = await api.storage.subscriptions.get(created.body["id"])
    event_ids = [await add_event(api.storage) for _ in range(5)]
    for event_id in event_ids:
        await add_attempt(api.storage, await add_delivery(api.storage, subscription, event_id), 503)

    job = await api.call("POST", "/deliveries/retry", as_="member", json={})
    await run_jobs(relay)  # the API's wake-up: the bulk runner is not looping in this test
    await relay.bulk.run_due()
    await run_jobs(relay)  # the deliver jobs the runner enqueued
    shown = await api.call("GET", f"/jobs/{job.body['id']}", as_="member")
    deliveries = await api.call("GET", "/deliveries", as_="member")

    assert 202 == job.status
    assert sorted(event_ids) == sorted(headers["webhook-id"] for _, headers in target.hits)
    assert [("succeeded", 2)] * 5 == [
        (row["status"], row["attempt_count"]) for row in deliveries.body["data"]
    ]
    assert ("succeeded", 5, 5) == (shown.body["status"], shown.body["matched"], shown.body["done"])
