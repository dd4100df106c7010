"""``POST /ingest/{source}``: verify, commit, enqueue — and only then a 2xx.

The order is the promise: nothing is acknowledged before it is durable, nothing is
stored before it is verified, and a failed enqueue never turns into an error for the
provider (the event is committed; the relay's sweeper dispatches it).
"""

from __future__ import annotations

import hashlib
import time

import orjson
import structlog
from aiohttp import web

from gateway import keys
from gateway.problems import ProblemError
from gateway.ratelimit import retry_after_header
from gateway.sources import SourceRuntime
from storage.fields import MAX_LENGTHS
from storage.records import NewEvent, StoredEvent
from verifiers import NeedsFetch, Request, VerificationError, Verified

log = structlog.get_logger()
UNKNOWN_TYPE = "unknown"


async def ingest(request: web.Request) -> web.StreamResponse:
    """Verify the webhook, commit it with its exact bytes, answer as the provider expects."""
    started = time.perf_counter()
    name = request.match_info["source"]
    source = request.app[keys.SOURCES].get(name)
    if source is None:
        raise ProblemError(404, f"no source named {name!r}")
    metrics = request.app[keys.METRICS]
    outcome = "error"
    try:
        response, outcome = await _ingest(request, source)
        return response
    finally:
        metrics.ingest.labels(name, outcome).inc()
        metrics.latency.labels(name).observe(time.perf_counter() - started)
        structlog.contextvars.bind_contextvars(source=name, outcome=outcome)


async def _ingest(request: web.Request, source: SourceRuntime) -> tuple[web.StreamResponse, str]:
    _check_rate(source)
    body = await request.read()  # bounded by client_max_size = server.max_body_bytes → 413
    candidate = await _candidate(request, source, body)
    try:
        verified = source.verifier.verify(candidate, time.time())
    except VerificationError as e:
        request.app[keys.METRICS].verification_failures.labels(source.config.name, e.reason).inc()
        log.info("verification_failed", source=source.config.name, reason=e.reason, detail=str(e))
        raise ProblemError(401, f"signature not accepted: {e.reason}", reason=e.reason) from e
    if verified.handshake is not None:
        return await _handshake(request, verified), "handshake"
    stored = await request.app[keys.STORAGE].events.store(_new_event(source, candidate, verified))
    if stored.duplicate:
        return _json(200, stored), "duplicate"
    request.app[keys.DISPATCH].push(stored.id)
    return _accepted(source, stored), "accepted"


def _check_rate(source: SourceRuntime) -> None:
    if source.limiter is None:
        return
    wait = source.limiter.take()
    if wait:
        raise ProblemError(
            429,
            "too many requests for this source",
            headers={"Retry-After": retry_after_header(wait)},
        )


async def _candidate(request: web.Request, source: SourceRuntime, body: bytes) -> Request:
    """The request as the verifier sees it: folded headers, the public URL, fetched documents."""
    headers: dict[str, str] = {}
    for header_name, value in request.headers.items():
        headers.setdefault(header_name.lower(), value)
    public_url = request.app[keys.CONFIG].server.public_url + str(request.rel_url)
    candidate = Request(body=body, headers=headers, url=public_url, method=request.method)
    if source.needs_fetch:
        assert isinstance(source.verifier, NeedsFetch)
        try:
            urls = source.verifier.urls_to_fetch(candidate)
        except VerificationError as e:
            raise ProblemError(401, f"signature not accepted: {e.reason}", reason=e.reason) from e
        fetched = await request.app[keys.FETCHER].documents(urls)
        candidate = Request(
            body=body, headers=headers, url=public_url, method=request.method, fetched=fetched
        )
    return candidate


async def _handshake(request: web.Request, verified: Verified) -> web.Response:
    handshake = verified.handshake
    assert handshake is not None
    if handshake.confirm_url is not None:
        await request.app[keys.FETCHER].confirm(handshake.confirm_url)
    if handshake.status == 204:
        return web.Response(status=204)
    return web.Response(
        status=handshake.status, body=handshake.body, content_type=handshake.content_type
    )


def _new_event(source: SourceRuntime, candidate: Request, verified: Verified) -> NewEvent:
    """The event to store, with the documented fallbacks for id and type."""
    provider_id = verified.event_id or "sha256:" + hashlib.sha256(candidate.body).hexdigest()
    if len(provider_id) > MAX_LENGTHS["provider_event_id"]:
        provider_id = "sha256:" + hashlib.sha256(provider_id.encode("utf-8", "replace")).hexdigest()
    event_type = (verified.event_type or UNKNOWN_TYPE)[: MAX_LENGTHS["type"]]
    headers = {
        name: "[redacted]" if name in source.secret_headers else value
        for name, value in candidate.headers.items()
    }
    return NewEvent(
        source=source.config.name,
        type=event_type,
        provider_event_id=provider_id,
        headers=headers,
        body=candidate.body,
        received_at=time.time_ns() // 1000,
    )


def _json(status: int, stored: StoredEvent) -> web.Response:
    body = orjson.dumps({"id": stored.id, "duplicate": stored.duplicate})
    return web.Response(status=status, body=body, content_type="application/json")


def _accepted(source: SourceRuntime, stored: StoredEvent) -> web.Response:
    status = source.preset.accepted_status
    if status == 204:
        return web.Response(status=204)
    return _json(status, stored)
