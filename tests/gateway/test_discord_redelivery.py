"""Discord treats any answer but 204 as a failure: a redelivery is 204 too."""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient

from gateway import state
from tests.gateway.conftest import MakeClient, signed_case, source_name


async def post(client: TestClient[Any, Any], body: bytes, headers: dict[str, str]) -> Any:
    """POST ``body`` to the Discord source."""
    return await client.post(f"/ingest/{source_name('discord')}", data=body, headers=headers)


async def test_discord_redelivery_is_204_and_stored_once(make_client: MakeClient) -> None:
    """The same Discord event twice: 204 both times, one stored event."""
    client = await make_client()
    case = signed_case("discord", int(time.time()))
    headers = dict(case.request.headers)

    first = await post(client, case.request.body, headers)
    again = await post(client, case.request.body, headers)

    assert (204, 204) == (first.status, again.status)
    assert (b"", b"") == (await first.read(), await again.read())
    stored = (await client.app[state.STORAGE].events.page()).items
    assert 1 == len(stored)
