"""A full disk: ingest answers 503 and ``/readyz`` says not ready until writes succeed."""

from __future__ import annotations

import orjson
import pytest

from gateway import state
from tests.gateway.conftest import MakeClient
from tests.gateway.test_ingest_bytes import SOURCES, post_raw
from tests.storage.test_readiness import fill_disk, free_disk


@pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)
async def test_readyz_follows_a_failing_writer(make_client: MakeClient) -> None:
    """While SQLite's disk is full an event gets 503 and readiness fails on storage;
    once there is room the provider's retry is stored and the gateway is ready again."""
    client = await make_client(sources=SOURCES)
    storage = client.app[state.STORAGE]
    body = orjson.dumps({"id": "evt_full", "padding": "x" * 65_536})
    await fill_disk(storage)

    refused = await post_raw(client, "/ingest/fuzz-body", body, {})
    unready = await client.get("/readyz")
    await free_disk(storage)
    retried = await post_raw(client, "/ingest/fuzz-body", body, {})
    ready = await client.get("/readyz")

    assert (503, 503) == (refused.status, unready.status)
    assert (await unready.json())["checks"]["storage"].startswith("failed")
    assert (202, 200) == (retried.status, ready.status)
    assert [body] == [(await storage.events.get(retried.json()["id"])).body]
