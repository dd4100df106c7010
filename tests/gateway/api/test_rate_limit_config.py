"""The API's per-key rate limit comes from config: ``api.rate_limit_per_s`` and
``api.rate_limit_burst``, ``0`` turning it off."""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis

from gateway import state
from gateway.app import create_app
from tests.gateway.conftest import gateway_config


async def statuses(aiohttp_client: Any, storage_url: str, calls: int, **api: float) -> list[int]:
    """The statuses of ``calls`` requests with one key to a gateway with ``api`` config."""
    client = await aiohttp_client(create_app(gateway_config(storage_url, api=api)))
    _, key = await client.app[state.STORAGE].users.create("Ops", "ops@example.com", "operator")
    headers = {"Authorization": f"Bearer {key}"}
    answers = []
    for _ in range(calls):
        response = await client.get("/api/v1/users/me", headers=headers)
        answers.append(response.status)
    return answers


async def test_a_small_configured_limit_answers_429(
    aiohttp_client: Any, migrated_url: str, queue: ArqRedis
) -> None:
    """A burst of 2 at 0.5 a second: the third request at once is 429."""
    answers = await statuses(
        aiohttp_client, migrated_url, 3, rate_limit_per_s=0.5, rate_limit_burst=2
    )

    assert [200, 200, 429] == answers


async def test_a_zero_limit_turns_the_limit_off(
    aiohttp_client: Any, migrated_url: str, queue: ArqRedis
) -> None:
    """``rate_limit_per_s: 0``: more requests at once than the default burst (100) all
    pass."""
    answers = await statuses(aiohttp_client, migrated_url, 120, rate_limit_per_s=0)

    assert [200] * 120 == answers
