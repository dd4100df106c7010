"""The OpenAPI document: valid OpenAPI 3.1, in step with the routes, and schemathesis
finds no 5xx, no undocumented status and no response that breaks its schema.

Schemathesis runs in-process against a real gateway on 127.0.0.1 (its own thread and
event loop, SQLite storage, the gateway tests' Redis database), as an admin, with a
bounded number of examples per operation.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.config import Config
from core.queue import close_queue, connect_queue
from gateway.api import state as api_state
from gateway.api.app import OPERATIONS, create_api
from gateway.api.limits import KeyLimiter
from gateway.api.schemas.subscriptions import SubscriptionIn
from gateway.app import create_app
from storage import open_storage
from tests.conftest import SECRET_KEY
from tests.gateway.api.conftest import GENEROUS, add_delivery, add_subscription, api_app
from tests.gateway.conftest import REDIS_URL, gateway_config

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 25


@dataclass(frozen=True)
class Server:
    """A gateway listening on 127.0.0.1 and an admin key for it."""

    base_url: str
    admin_key: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _prepare(config: Config) -> str:
    """Migrate, seed a few rows to find, and make an admin; its key."""
    async with open_storage(config.storage_url, SECRET_KEY) as storage:
        await storage.migrate()
        _, key = await storage.users.create("Admin", "admin@example.com", "admin")
        member, _ = await storage.users.create("Member", "member@example.com", "member")
        subscription = await add_subscription(storage, member)
        await add_delivery(storage, subscription)
    await flush_queue()
    return key


async def flush_queue() -> None:
    """Empty the gateway tests' Redis database."""
    queue = connect_queue(REDIS_URL)
    await queue.flushdb()
    await close_queue(queue)


def _serve(config: Config, port: int, ready: threading.Event, stop: threading.Event) -> None:
    async def main() -> None:
        app = create_app(config)
        api_app(app)[api_state.LIMITER] = KeyLimiter(GENEROUS)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.to_thread(stop.wait)
        await runner.cleanup()

    asyncio.run(main())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The gateway on 127.0.0.1 in a thread of its own, with SQLite storage."""
    path: Path = tmp_path_factory.mktemp("schemathesis") / "hookgate.db"
    config = gateway_config(f"sqlite:///{path}")
    key = asyncio.run(_prepare(config))
    port = _free_port()
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=_serve, args=(config, port, ready, stop), daemon=True)
    thread.start()
    assert ready.wait(10), "the gateway did not start"
    yield Server(f"http://127.0.0.1:{port}/api/v1", key)
    stop.set()
    thread.join(10)
    asyncio.run(flush_queue())


def fetch_document(server: Server) -> dict[str, Any]:
    """The document the running gateway serves."""
    with urllib.request.urlopen(f"{server.base_url}/openapi.json", timeout=5) as response:  # noqa: S310 - our own 127.0.0.1 server
        document: dict[str, Any] = orjson.loads(response.read())
        return document


def test_document_is_valid_openapi_31(server: Server) -> None:
    """``openapi-spec-validator`` accepts the served document as OpenAPI 3.1."""
    document = fetch_document(server)

    validate(document)
    assert "3.1.0" == document["openapi"]


def test_document_lists_exactly_the_routes_served(server: Server) -> None:
    """Every declared operation is documented and nothing else is."""
    document = fetch_document(server)

    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert {(op.method, op.path) for op in OPERATIONS} == documented


def test_request_schemas_are_the_validating_models(server: Server) -> None:
    """The documented request body of POST /subscriptions is the model that validates it."""
    document = fetch_document(server)
    body = document["paths"]["/subscriptions"]["post"]["requestBody"]["content"]
    reference = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]

    generated = SubscriptionIn.model_json_schema(ref_template="#/components/schemas/{model}")
    assert generated["properties"] == document["components"]["schemas"][reference]["properties"]


# Built without I/O, by the same function that serves it (test_document_is_served checks
# they are equal): schemathesis parametrizes at collection time.
DOCUMENT: dict[str, Any] = orjson.loads(
    create_api(gateway_config("sqlite:///unused.db"))[api_state.OPENAPI]
)
# The stream never ends by itself: its contract is tested in test_stream.py.
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(path="/stream")


def test_document_is_served(server: Server) -> None:
    """The running gateway serves the document schemathesis works from."""
    assert DOCUMENT == fetch_document(server)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_schemathesis_finds_no_error(case: Any, server: Server) -> None:
    """Generated requests to each operation: never a 5xx, every status, content type,
    header and body as documented."""
    case.call_and_validate(
        base_url=server.base_url,
        headers={
            "Authorization": f"Bearer {server.admin_key}",
            "X-Request-Id": secrets.token_hex(4),
        },
        checks=CHECKS,
    )
