"""API fixtures: the gateway on each storage backend with one user per role, and seeds.

``Api.call`` sends a request as one of the users (or without a key) and answers the
status, the parsed body and the headers. Seeds write straight to storage, the way the
ingest route and the relay would.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from arq.connections import ArqRedis
from multidict import CIMultiDictProxy

from gateway import state
from gateway.api import state as api_state
from gateway.api.limits import KeyLimiter, RateLimit
from gateway.app import create_app
from storage import Storage
from storage.records import (
    Delivery,
    NewEvent,
    Outcome,
    Subscription,
    SubscriptionFields,
    Target,
    User,
)
from tests.gateway.conftest import gateway_config

ROLES = ("admin", "operator", "member")
GENEROUS = RateLimit(per_s=100_000, burst=100_000)
SOURCE = "src-github"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, read."""

    status: int
    body: Any
    headers: CIMultiDictProxy[str]
    content_type: str


@dataclass(frozen=True)
class Caller:
    """A user and one of its API keys."""

    user: User
    key: str


def api_app(app: web.Application) -> web.Application:
    """The ``/api/v1`` sub-application mounted in the gateway ``app``."""
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            sub: web.Application = resource.get_info()["app"]
            if api_state.LIMITER in sub:
                return sub
    raise AssertionError("the API is not mounted")


class Api:
    """The gateway under test, its storage and a caller per role."""

    def __init__(self, client: TestClient[Any, Any], callers: dict[str, Caller]) -> None:
        self.client = client
        self.callers = callers

    @property
    def storage(self) -> Storage:
        """The storage the gateway uses."""
        return self.client.app[state.STORAGE]

    async def call(
        self,
        method: str,
        path: str,
        *,
        as_: str | None = "admin",
        key: str | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """``method path`` under ``/api/v1`` with the key of user ``as_`` (or ``key``)."""
        sent = dict(headers or {})
        api_key = key if key is not None else (self.callers[as_].key if as_ else None)
        if api_key is not None:
            sent["Authorization"] = f"Bearer {api_key}"
        body = orjson.dumps(json) if json is not None else data
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        response = await self.client.request(method, f"/api/v1{path}", data=body, headers=sent)
        raw = await response.read()
        parsed = orjson.loads(raw) if raw and "json" in response.content_type else raw
        return Answer(response.status, parsed, response.headers, response.content_type)

    async def add_caller(self, name: str, role: str) -> Caller:
        """A new user with ``role`` and its key, known as ``name``."""
        user, key = await self.storage.users.create(name, f"{name}@example.com", role)
        self.callers[name] = Caller(user, key)
        return self.callers[name]

    def user(self, name: str) -> User:
        """The user known as ``name``."""
        return self.callers[name].user


async def start_api(
    aiohttp_client: Any, storage_url: str, rate_limit: RateLimit = GENEROUS, **overrides: Any
) -> Api:
    """The gateway on ``storage_url`` with ``rate_limit`` per key and a user per role."""
    app = create_app(gateway_config(storage_url, **overrides))
    api_app(app)[api_state.LIMITER] = KeyLimiter(rate_limit)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    api = Api(client, {})
    for role in ROLES:
        await api.add_caller(role, role)
    await api.add_caller("other", "member")
    return api


@pytest.fixture
async def api(aiohttp_client: Any, migrated_url: str, queue: ArqRedis) -> Api:
    """The gateway with an admin, an operator, a member and another member ("other")."""
    return await start_api(aiohttp_client, migrated_url)


def now_us() -> int:
    """Unix microseconds now."""
    return time.time_ns() // 1000


async def add_subscription(
    storage: Storage, owner: User, url: str = "https://hooks.example.org/in", **fields: Any
) -> Subscription:
    """A subscription of ``owner`` (straight into storage)."""
    subscription, _ = await storage.subscriptions.create(
        owner.id, SubscriptionFields(url=url, **fields)
    )
    return subscription


async def add_event(
    storage: Storage,
    *,
    source: str = SOURCE,
    event_type: str = "push",
    body: bytes = b'{"action": "opened", "n": 1}',
    content_type: str = "application/json",
    received_at: int | None = None,
) -> str:
    """A stored event's id."""
    stored = await storage.events.store(
        NewEvent(
            source=source,
            type=event_type,
            provider_event_id=secrets.token_hex(8),
            headers={"content-type": content_type},
            body=body,
            received_at=now_us() if received_at is None else received_at,
        )
    )
    return stored.id


async def add_delivery(
    storage: Storage, subscription: Subscription, event_id: str = ""
) -> Delivery:
    """A pending delivery of ``event_id`` (a new event if empty) to ``subscription``."""
    event_id = event_id or await add_event(storage)
    plan = (event_id, [Target(subscription.id, subscription.fields.url)])
    created = await storage.deliveries.create([plan], first_dispatch=False)
    return created[event_id][0]


async def add_attempt(
    storage: Storage,
    delivery: Delivery,
    status: int | None,
    error: str | None = None,
    *,
    final: bool = True,
) -> Delivery:
    """Record one attempt answered ``status``, as the relay does; unless 2xx the delivery
    fails on it if ``final``, else waits a minute for its next attempt."""
    ok = status is not None and 200 <= status < 300
    retry_at = None if ok or final else now_us() + 60_000_000
    [recorded] = await storage.attempts.record(
        [
            (
                delivery.id,
                Outcome(
                    started_at=now_us(),
                    duration_ms=12.5,
                    request_headers={
                        "webhook-id": delivery.event_id,
                        "webhook-signature": "<redacted>",
                    },
                    response_status=status,
                    response_headers=None if status is None else {"content-type": "text/plain"},
                    response_body=None if status is None else b"answer \xff",
                    error=None if ok else (error or "http_status"),
                    error_detail=None if ok else "refused",
                    status="succeeded" if ok else "failed" if final else "pending",
                    next_attempt_at=retry_at,
                ),
            )
        ]
    )
    assert recorded is not None
    return recorded
