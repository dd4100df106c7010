"""``POST /ingest/{source}`` as providers see it: every SPEC §5 row, on both backends."""

from __future__ import annotations

import io
import time
from dataclasses import replace
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from arq.connections import ArqRedis

from core.ratelimit import TokenBucket
from gateway import state
from storage import Storage
from tests.gateway.conftest import MakeClient, signed_case, source_name
from tests.signing import SIGNERS, Case, mac
from verifiers import PRESETS

PROBLEM = "application/problem+json"


async def post_case(client: TestClient[Any, Any], preset: str, case: Case) -> Any:
    """POST a signed case to its source, giving the gateway any document it must fetch."""
    for url, document in case.request.fetched.items():
        client.app[state.FETCHER].remember(url, document)
    path = (
        f"/ingest/{source_name(preset)}"
        + case.request.url.partition("/ingest/")[2].partition(source_name(preset))[2]
    )
    return await client.post(path, data=case.request.body, headers=dict(case.request.headers))


# Presets that authenticate the sender but not the body: spoil the credential too.
CREDENTIAL_HEADERS = ("x-api-key", "authorization", "x-gitlab-token")


def tampered(case: Case) -> Case:
    """``case`` with one body byte changed and any bare credential header wrong."""
    headers = dict(case.request.headers)
    for name in CREDENTIAL_HEADERS:
        if name in headers:
            headers[name] = "Basic d3Jvbmc6d3Jvbmc=" if name == "authorization" else "wrong"
    body = case.request.body.replace(b"x", b"y", 1) + b" "
    # Mailgun signs a timestamp and token inside the body, not the body: spoil the signature.
    body = body.replace(b'"signature":"', b'"signature":"00')
    return Case(request=replace(case.request, body=body, headers=headers))


def storage_of(client: TestClient[Any, Any]) -> Storage:
    """The storage the app under test writes to."""
    return client.app[state.STORAGE]


@pytest.mark.parametrize("preset", sorted(SIGNERS))
async def test_every_preset_accepts_signed_and_refuses_tampered(
    make_client: MakeClient, preset: str
) -> None:
    """A valid request is committed and acknowledged; a tampered one is 401 and not stored."""
    client = await make_client()
    case = signed_case(preset, int(time.time()))

    accepted = await post_case(client, preset, case)
    refused = await post_case(client, preset, tampered(case))

    expected_status = PRESETS[preset].accepted_status
    assert expected_status == accepted.status, await accepted.text()
    assert (401, PROBLEM) == (refused.status, refused.content_type)
    stored = (await storage_of(client).events.page()).items
    assert [source_name(preset)] == [event.source for event in stored]
    if expected_status != 204:
        answer = await accepted.json()
        assert (stored[0].id, False) == (answer["id"], answer["duplicate"])
    event = await storage_of(client).events.get(stored[0].id)
    assert case.request.body == event.body


async def test_repeat_answers_first_id_and_dispatches_once(
    make_client: MakeClient, queue: ArqRedis
) -> None:
    """The same provider event twice: 202 then 200 with the first id; one dispatch job."""
    client = await make_client()
    case = signed_case("stripe", int(time.time()))

    first = await post_case(client, "stripe", case)
    again = await post_case(client, "stripe", case)
    await client.app[state.DISPATCH].close()

    first_body, again_body = await first.json(), await again.json()
    assert (202, 200) == (first.status, again.status)
    assert {"id": first_body["id"], "duplicate": True} == again_body
    jobs = await queue.queued_jobs()
    assert [[first_body["id"]]] == [job.args[0] for job in jobs]


async def test_unknown_source_is_a_problem_404(make_client: MakeClient) -> None:
    """A source that is not configured answers 404 problem+json."""
    client = await make_client()

    response = await client.post("/ingest/nope", data=b"{}")

    assert (404, PROBLEM) == (response.status, response.content_type)
    assert 404 == (await response.json())["status"]


async def test_body_over_limit_is_413(make_client: MakeClient) -> None:
    """A body one byte over ``server.max_body_bytes`` (1 MiB) is refused with 413 problem+json."""
    client = await make_client()

    response = await client.post("/ingest/src-github", data=io.BytesIO(b"x" * (1_048_576 + 1)))

    assert (413, PROBLEM) == (response.status, response.content_type)
    assert [] == list((await storage_of(client).events.page()).items)


async def test_slack_url_verification_is_answered_not_stored(make_client: MakeClient) -> None:
    """Slack's signed handshake gets its challenge back; nothing is stored."""
    client = await make_client()
    body = orjson.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595"})
    case = SIGNERS["slack"](int(time.time()), "")
    headers = dict(case.request.headers)
    timestamp = headers["x-slack-request-timestamp"]
    headers["x-slack-signature"] = "v0=" + mac("sha256", f"v0:{timestamp}:".encode() + body).hex()

    response = await client.post("/ingest/src-slack", data=body, headers=headers)

    assert 200 == response.status
    assert {"challenge": "3eZbrw1aBm2rZgRNFdxV2595"} == await response.json()
    assert [] == list((await storage_of(client).events.page()).items)


async def test_redis_down_still_acknowledges_committed_event(make_client: MakeClient) -> None:
    """With Redis unreachable the event is committed, answered 202, and the failure counted."""
    client = await make_client(redis__url="redis://127.0.0.1:1/0")
    case = signed_case("github", int(time.time()))

    response = await post_case(client, "github", case)
    await client.app[state.DISPATCH].close()
    metrics = await (await client.get("/metrics")).text()
    ready = await client.get("/readyz")

    assert 202 == response.status
    event_id = (await response.json())["id"]
    assert event_id == (await storage_of(client).events.get(event_id)).id
    assert "hookgate_enqueue_failures_total 1.0" in metrics
    assert 503 == ready.status
    assert "failed" in (await ready.json())["checks"]["redis"]


async def test_rate_limited_source_answers_429_with_retry_after(make_client: MakeClient) -> None:
    """Past a source's burst, requests get 429 problem+json with Retry-After."""
    client = await make_client()
    client.app[state.SOURCES]["src-github"] = _limited(client.app[state.SOURCES]["src-github"])
    case = signed_case("github", int(time.time()))

    statuses = [(await post_case(client, "github", case)).status for _ in range(3)]
    limited = await post_case(client, "github", case)

    assert [202, 200, 429] == statuses
    assert 429 == limited.status
    assert int(limited.headers["Retry-After"]) >= 1


def _limited(runtime: Any) -> Any:
    """``runtime`` with a bucket of two requests and a slow refill."""
    return replace(runtime, limiter=TokenBucket(rate=0.01, burst=2))


async def test_secret_carrying_headers_are_not_stored(make_client: MakeClient) -> None:
    """Basic-auth credentials are verified but stored redacted."""
    client = await make_client()
    case = signed_case("basic", int(time.time()))

    response = await post_case(client, "basic", case)

    event = await storage_of(client).events.get((await response.json())["id"])
    assert "<redacted>" == event.headers["authorization"]


async def test_health_ready_and_metrics(make_client: MakeClient) -> None:
    """/healthz and /readyz answer 200; /metrics counts accepted and refused requests."""
    client = await make_client()
    case = signed_case("github", int(time.time()))
    await post_case(client, "github", case)
    await client.post(
        "/ingest/src-github", data=b"{}", headers={"x-hub-signature-256": "sha256=00"}
    )

    health, ready = await client.get("/healthz"), await client.get("/readyz")
    metrics = await (await client.get("/metrics")).text()

    assert (200, 200) == (health.status, ready.status)
    assert 'hookgate_ingest_requests_total{outcome="accepted",source="src-github"} 1.0' in metrics
    assert (
        'hookgate_verification_failures_total{reason="bad_signature",source="src-github"} 1.0'
        in metrics
    )
