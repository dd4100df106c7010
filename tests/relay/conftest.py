"""Relay fixtures: a scripted aiohttp receiver on 127.0.0.1, and a harness that runs the
relay against real storage (both backends) and the machine's Redis, on a queue of its own.

Loops that wait for the relay are bounded in rounds and stop as soon as the awaited
state is reached; nothing asserts on elapsed time.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.config import Config, parse_config
from core.queue import DISPATCH_EVENTS, close_queue, connect_queue
from relay.runtime import Relay, open_relay
from relay.worker import close_worker, create_worker
from storage import Storage
from storage.records import Delivery, NewEvent, Subscription, SubscriptionFields
from tests.conftest import SECRET_KEY
from tests.relay.processes import redis_server

REDIS_URL = "redis://127.0.0.1:6379/0"
FAST_DELIVERY: dict[str, Any] = {
    "timeout_s": 1,
    "max_attempts": 3,
    "backoff": {"initial_s": 0.05, "multiplier": 2, "max_s": 0.4, "jitter": 0},
    "sweep_interval_s": 0.05,
    "breaker": {"failures": 100, "cooldown_s": 60},
}


@dataclass(frozen=True)
class Reply:
    """What the receiver answers to one request."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    body: bytes = b"ok"


@dataclass(frozen=True)
class Hit:
    """One request the receiver got."""

    name: str
    headers: Mapping[str, str]
    body: bytes
    at: float


class Receiver:
    """Endpoints ``/hook/{name}`` answering scripted replies (the last one repeats)."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._scripts: dict[str, list[Reply]] = {}
        self.server: TestServer | None = None

    def script(self, name: str, *replies: Reply) -> str:
        """Make endpoint ``name`` answer ``replies`` in order; its URL."""
        self._scripts[name] = list(replies)
        return self.url(name)

    def url(self, name: str) -> str:
        """The URL of endpoint ``name``."""
        assert self.server is not None
        return str(self.server.make_url(f"/hook/{name}"))

    def of(self, name: str) -> list[Hit]:
        """The requests endpoint ``name`` got."""
        return [hit for hit in self.hits if hit.name == name]

    async def handle(self, request: web.Request) -> web.Response:
        """Record the request, then answer the next scripted reply."""
        name = request.match_info["name"]
        body = await request.read()
        headers = {key.lower(): value for key, value in request.headers.items()}
        self.hits.append(Hit(name, headers, body, time.time()))
        script = self._scripts.get(name) or [Reply()]
        reply = script.pop(0) if len(script) > 1 else script[0]
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
        finally:
            self.in_flight -= 1
        return web.Response(status=reply.status, headers=dict(reply.headers), body=reply.body)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A scripted receiver listening on 127.0.0.1."""
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hook/{name}", target.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    target.server = server
    yield target
    await server.close()


def free_port() -> int:
    """A TCP port nobody listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def relay_config(
    storage_url: str,
    redis_url: str = REDIS_URL,
    *,
    delivery: Mapping[str, Any] | None = None,
    handlers: list[dict[str, Any]] | None = None,
    allowed: tuple[str, ...] = ("127.0.0.0/8",),
) -> Config:
    """A config for relay tests: short timeouts and backoff, 127/8 allowed."""
    return parse_config(
        {
            "storage": {"url": storage_url},
            "redis": {"url": redis_url},
            "security": {"secret_key": SECRET_KEY, "allowed_target_networks": list(allowed)},
            "delivery": {**FAST_DELIVERY, **(delivery or {})},
            "sources": [
                {"name": "stripe", "verifier": "api-key", "secrets": ["k" * 32]},
                {"name": "github", "verifier": "api-key", "secrets": ["k" * 32]},
            ],
            "handlers": handlers or [],
        },
        {},
    )


class Harness:
    """The relay under test, its storage and its queue."""

    def __init__(self, relay: Relay, storage: Storage, redis_url: str) -> None:
        self.relay = relay
        self.storage = storage
        self.redis_url = redis_url
        self.queue = connect_queue(redis_url)
        self._owner: str | None = None

    async def subscribe(self, url: str, **fields: Any) -> tuple[Subscription, str]:
        """A subscription to ``url`` (and its signing secret)."""
        if self._owner is None:
            user, _ = await self.storage.users.create("Team", "team@example.com", "member")
            self._owner = user.id
        return await self.storage.subscriptions.create(
            self._owner, SubscriptionFields(url=url, **fields)
        )

    async def event(self, event_type: str = "invoice.paid", source: str = "stripe") -> str:
        """Store an event (a JSON body) and return its id."""
        stored = await self.storage.events.store(
            NewEvent(
                source=source,
                type=event_type,
                provider_event_id=secrets.token_hex(8),
                headers={"content-type": "application/json"},
                body=b'{"type": "%s", "n": "%s"}'
                % (event_type.encode(), secrets.token_hex(4).encode()),
                received_at=time.time_ns() // 1000,
            )
        )
        return stored.id

    async def enqueue(self, event_ids: list[str]) -> None:
        """Enqueue a ``dispatch_events`` job, as the gateway does."""
        await self.queue.enqueue_job(DISPATCH_EVENTS, event_ids, _queue_name=self.relay.queue_name)

    async def run_jobs(self) -> None:
        """Run a real arq burst worker until the queue is empty."""
        redis = connect_queue(self.redis_url)
        worker = create_worker(self.relay, redis, burst=True)
        try:
            await worker.main()
        finally:
            await close_worker(worker, redis)
        await self.relay.attempts.settle()

    async def deliveries(self, event_id: str | None = None) -> list[Delivery]:
        """Every delivery (of ``event_id``), oldest first."""
        page = await self.storage.deliveries.page(event_id=event_id, limit=250)
        return sorted(page.items, key=lambda d: d.id)

    async def drive(self, done: Callable[[], Awaitable[bool]], rounds: int = 200) -> None:
        """Run jobs and sweeps until ``done()``; fail after ``rounds`` rounds."""
        for _ in range(rounds):
            await self.run_jobs()
            await self.relay.sweeper.sweep()
            await self.relay.sweeper.settle()
            await self.relay.attempts.settle()
            if await done():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the relay did not get there in {rounds} rounds")

    async def finished(self) -> bool:
        """Whether no delivery is pending any more."""
        return all(d.status != "pending" for d in await self.deliveries())

    async def close(self) -> None:
        """Remove this harness's queue keys from Redis."""
        name = self.relay.queue_name
        for job_id in await self.queue.zrange(name, 0, -1):
            await self.queue.delete(b"arq:job:" + job_id)
        keys = [key async for key in self.queue.scan_iter(match=f"{name}*")]
        if keys:
            await self.queue.delete(*keys)
        await close_queue(self.queue)


@asynccontextmanager
async def open_harness(
    storage: Storage, config: Config, redis_url: str = REDIS_URL
) -> AsyncIterator[Harness]:
    """A relay on ``config`` with a queue of its own."""
    queue_name = f"hookgate:test:{secrets.token_hex(6)}"
    async with open_relay(config, queue_name=queue_name) as relay:
        harness = Harness(relay, storage, redis_url)
        try:
            yield harness
        finally:
            await harness.close()


@pytest.fixture
async def harness(storage: Storage, storage_url: str) -> AsyncIterator[Harness]:
    """The relay with the fast test settings and a recording handler."""
    config = relay_config(
        storage_url,
        handlers=[{"name": "audit", "call": "tests.relay.handlers:record", "sources": ["stripe"]}],
    )
    async with open_harness(storage, config) as opened:
        yield opened


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this test run's own, for tests that flush it or run workers."""
    with redis_server(tmp_path_factory.mktemp("redis"), free_port()) as url:
        yield url
