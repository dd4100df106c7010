"""When a dependency fails: storage down is a 503 (never a 2xx), odd input never a 5xx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import create_app
from storage import open_storage
from tests.conftest import SECRET_KEY
from tests.gateway.conftest import gateway_config, signed_case, source_name
from tests.gateway.test_ingest import post_case


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target until ``cut`` drops every connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers += [writer, upstream_writer]
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()

    async def cut(self) -> None:
        """Stop listening and drop every open connection (the database 'goes down')."""
        assert self._server is not None
        if not self._server.is_serving():
            return
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()


@pytest.fixture
async def proxied_postgres(postgres_url: str) -> AsyncIterator[tuple[str, TcpProxy]]:
    """The run's PostgreSQL database reached through a proxy the test can cut."""
    async with open_storage(postgres_url, SECRET_KEY) as storage:
        await storage.db.execute("TRUNCATE events CASCADE")
    parts = urlsplit(postgres_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
    yield urlunsplit(parts._replace(netloc=netloc)), proxy
    await proxy.cut()


async def test_storage_down_answers_503_with_retry_after(
    aiohttp_client: Any, proxied_postgres: tuple[str, TcpProxy], queue: Any
) -> None:
    """Once the database is unreachable, a valid webhook gets 503 + Retry-After, never 2xx."""
    url, proxy = proxied_postgres
    client: TestClient[Any, Any] = await aiohttp_client(create_app(gateway_config(url)))
    before = await post_case(client, "github", signed_case("github", int(time.time())))

    await proxy.cut()
    after = await post_case(client, "stripe", signed_case("stripe", int(time.time())))
    ready = await client.get("/readyz")

    assert 202 == before.status
    assert (503, "application/problem+json") == (after.status, after.content_type)
    assert int(after.headers["Retry-After"]) >= 1
    assert 503 == ready.status


header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    preset=st.sampled_from(["stripe", "github", "slack", "standard-webhooks", "twilio", "sns"]),
    body=st.binary(max_size=2048),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "stripe-signature",
                "x-hub-signature-256",
                "x-slack-signature",
                "x-slack-request-timestamp",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "x-twilio-signature",
                "content-type",
                "x-github-event",
            ]
        ),
        header_values,
        max_size=6,
    ),
)
async def test_random_requests_never_get_a_5xx(
    make_client: Any, preset: str, body: bytes, headers: dict[str, str]
) -> None:
    """Random bodies and headers at real sources: 2xx or 4xx, never a 5xx."""
    client = await make_client()
    response = await client.post(f"/ingest/{source_name(preset)}", data=body, headers=headers)
    assert response.status < 500, await response.text()
