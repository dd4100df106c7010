"""A gateway app on each storage backend, with one source per verifier preset."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from arq.connections import ArqRedis

from core.config import Config, parse_config
from core.queue import close_queue, connect_queue
from gateway.app import create_app
from gateway.protocol import GatewayRunner, ReadBounds
from gateway.server import READ_BOUNDS, listening
from storage import open_storage
from tests.conftest import SECRET_KEY
from tests.signing import SIGNERS, Case

PUBLIC_URL = "https://hooks.example.com"
# The gateway tests' own Redis database on the machine's server, flushed after each test.
REDIS_URL = "redis://127.0.0.1:6379/13"


def source_name(preset: str) -> str:
    """The test source that uses ``preset``."""
    return f"src-{preset}"


def signed_case(preset: str, now: int) -> Case:
    """A request for ``preset`` signed at ``now`` for the gateway's public URL."""
    return SIGNERS[preset](now, f"{PUBLIC_URL}/ingest/{source_name(preset)}")


def gateway_config(storage_url: str, **overrides: Any) -> Config:
    """A valid config with a source per preset (each with the secrets its signer uses)."""
    sources = []
    for preset in sorted(SIGNERS):
        case = SIGNERS[preset]()
        sources.append(
            {
                "name": source_name(preset),
                "verifier": preset,
                "secrets": list(case.secrets),
                "options": case.options,
            }
        )
    data: dict[str, Any] = {
        "server": {"public_url": PUBLIC_URL},
        "storage": {"url": storage_url},
        "redis": {"url": REDIS_URL},
        "security": {"secret_key": SECRET_KEY},
        "sources": sources,
    }
    for key, value in overrides.items():
        section, _, leaf = key.partition("__")
        if leaf:
            data.setdefault(section, {})[leaf] = value
        else:
            data[section] = value
    return parse_config(data, {})


@pytest.fixture
async def migrated_url(storage_url: str) -> str:
    """``storage_url`` with the schema applied and no rows."""
    async with open_storage(storage_url, SECRET_KEY) as storage:
        await storage.migrate()
        if storage.db.dialect.name == "postgresql":
            await storage.db.execute(
                "TRUNCATE attempts, deliveries, subscription_secrets, subscriptions, events, "
                "event_types, api_keys, users CASCADE"
            )
    return storage_url


@pytest.fixture
async def queue() -> AsyncIterator[ArqRedis]:
    """The test Redis database, empty before and after."""
    redis = connect_queue(REDIS_URL)
    await redis.flushdb()
    yield redis
    await redis.flushdb()
    await close_queue(redis)


MakeClient = Callable[..., Any]


@pytest.fixture
async def make_client(aiohttp_client: Any, migrated_url: str, queue: ArqRedis) -> MakeClient:
    """Start a gateway with config overrides; returns a test client."""

    async def start(**overrides: Any) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = await aiohttp_client(
            create_app(gateway_config(migrated_url, **overrides))
        )
        return client

    return start


@dataclass(frozen=True)
class LiveGateway:
    """A gateway served on a real socket through ``gateway.server.listening``."""

    app: web.Application
    runner: GatewayRunner

    @property
    def port(self) -> int:
        """The port it listens on."""
        port: int = self.runner.addresses[0][1]
        return port


StartGateway = Callable[..., Awaitable[LiveGateway]]


@pytest.fixture
async def start_gateway(migrated_url: str, queue: ArqRedis) -> AsyncIterator[StartGateway]:
    """Start gateways (read ``bounds``, config overrides) on free ports; stopped after."""
    async with AsyncExitStack() as stack:

        async def start(bounds: ReadBounds = READ_BOUNDS, **overrides: Any) -> LiveGateway:
            app = create_app(gateway_config(migrated_url, **overrides))
            runner = await stack.enter_async_context(listening(app, "127.0.0.1", 0, bounds=bounds))
            return LiveGateway(app, runner)

        yield start
