"""Authentication, rate limiting and request ids (SPEC §7 conventions)."""

from __future__ import annotations

from typing import Any

import pytest
import structlog
from arq.connections import ArqRedis

from gateway.api.limits import KeyLimiter, RateLimit
from tests.gateway.api.conftest import Api, start_api

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic aGc6eA==",
        "Bearer hg_not-a-real-key",
        "Bearer not-even-the-prefix",
        "Bearer hg_" + "x" * 500,
    ],
)
async def test_missing_or_invalid_key_is_401(api: Api, authorization: str | None) -> None:
    """No key, another scheme or an unknown key: 401 problem+json with WWW-Authenticate."""
    headers = {} if authorization is None else {"Authorization": authorization}

    answer = await api.call("GET", "/users/me", as_=None, headers=headers)

    assert (401, PROBLEM) == (answer.status, answer.content_type)
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert {"type", "title", "status", "detail"} <= set(answer.body)


async def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    """``bearer hg_…`` is as good as ``Bearer hg_…``."""
    key = api.callers["member"].key

    answer = await api.call(
        "GET", "/users/me", as_=None, headers={"Authorization": f"bearer {key}"}
    )

    assert 200 == answer.status


async def test_openapi_needs_no_key(api: Api) -> None:
    """The OpenAPI document is public."""
    answer = await api.call("GET", "/openapi.json", as_=None)

    assert (200, "3.1.0") == (answer.status, answer.body["openapi"])


async def test_unknown_route_is_a_problem_404(api: Api) -> None:
    """A path the API does not have is a 404 problem, not an HTML page."""
    answer = await api.call("GET", "/nothing-here")

    assert (404, PROBLEM) == (answer.status, answer.content_type)


async def test_over_the_rate_limit_is_429_with_retry_after_per_key(
    aiohttp_client: Any, migrated_url: str, queue: ArqRedis
) -> None:
    """A key over its burst gets 429 + Retry-After; another key is not affected."""
    api = await start_api(aiohttp_client, migrated_url, rate_limit=RateLimit(per_s=0.5, burst=3))

    statuses = [(await api.call("GET", "/users/me", as_="member")).status for _ in range(4)]
    limited = await api.call("GET", "/users/me", as_="member")
    other = await api.call("GET", "/users/me", as_="other")

    assert [200, 200, 200, 429] == statuses
    assert (429, PROBLEM) == (limited.status, limited.content_type)
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    assert 200 == other.status


def test_limiter_refills_and_forgets_the_least_recently_used() -> None:
    """Tokens come back at ``per_s``; past ``max_keys`` the oldest bucket is dropped."""
    now = [0.0]
    limiter = KeyLimiter(RateLimit(per_s=1, burst=1), max_keys=2, clock=lambda: now[0])

    first, second = limiter.take(b"a"), limiter.take(b"a")
    now[0] = 1.0
    refilled = limiter.take(b"a")
    limiter.take(b"b")
    limiter.take(b"c")  # "a" is forgotten: a fresh, full bucket
    forgotten = limiter.take(b"a")

    assert (0.0, 1.0, 0.0, 0.0) == (first, second, refilled, forgotten)


async def test_request_id_is_echoed_and_logged_with_the_user(api: Api) -> None:
    """The caller's X-Request-Id comes back and the request log line carries it and the
    user id."""
    merge = structlog.contextvars.merge_contextvars
    with structlog.testing.capture_logs(processors=[merge]) as logs:
        answer = await api.call(
            "GET", "/users/me", as_="member", headers={"X-Request-Id": "req-123"}
        )

    assert "req-123" == answer.headers["X-Request-Id"]
    request_lines = [line for line in logs if line["event"] == "request"]
    expected = [("/api/v1/users/me", 200, "req-123", api.user("member").id)]
    assert expected == [
        (line["path"], line["status"], line["request_id"], line["user_id"])
        for line in request_lines
    ]


async def test_responses_are_json_with_rfc3339_utc_times(api: Api) -> None:
    """Times are RFC 3339 strings in UTC."""
    answer = await api.call("GET", "/users/me")

    assert "application/json" == answer.content_type
    assert answer.body["created_at"].endswith("Z")
    assert "T" in answer.body["created_at"]
