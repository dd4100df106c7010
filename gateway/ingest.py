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

from core.clock import SECOND_US, now_us
from core.ratelimit import retry_after_header
from gateway import state
from gateway.problems import ProblemError
from gateway.sources import SourceRuntime
from policy.redaction import REDACTED
from storage.fields import MAX_LENGTHS
from storage.records import NewEvent, StoredEvent
from verifiers import NeedsFetch, Request, VerificationError, Verified

log = structlog.get_logger()
UNKNOWN_TYPE = "unknown"
# Name and value bytes of every header, the stored events' own bound on their headers.
MAX_HEADER_BYTES = MAX_LENGTHS["headers"]


async def ingest(request: web.Request) -> web.StreamResponse:
    """Verify the webhook, commit it with its exact bytes, answer as the provider expects."""
    started = time.perf_counter()
    name = request.match_info["source"]
    source = request.app[state.SOURCES].get(name)
    if source is None:
        raise ProblemError(404, f"no source named {name!r}")
    metrics = request.app[state.METRICS]
    outcome = "error"
    try:
        response, outcome = await _ingest(request, source)
        return response
    finally:
        metrics.ingest.labels(name, outcome).inc()
        metrics.latency.labels(name).observe(time.perf_counter() - started)
        structlog.contextvars.bind_contextvars(source=name, outcome=outcome)


async def _ingest(request: web.Request, source: SourceRuntime) -> tuple[web.StreamResponse, str]:
    _check_headers(request)
    _check_rate(source)
    body = await request.read()  # bounded by client_max_size = server.max_body_bytes → 413
    candidate = await _candidate(request, source, body)
    try:
        verified = source.verifier.verify(candidate, now_us() / SECOND_US)
    except VerificationError as e:
        request.app[state.METRICS].verification_failures.labels(source.config.name, e.reason).inc()
        log.info("verification_failed", source=source.config.name, reason=e.reason, detail=str(e))
        raise ProblemError(401, f"signature not accepted: {e.reason}", reason=e.reason) from e
    if verified.handshake is not None:
        return await _handshake(request, verified), "handshake"
    stored = await request.app[state.STORAGE].events.store(_new_event(source, candidate, verified))
    if stored.duplicate:
        return _answer(source, stored, 200), "duplicate"
    request.app[state.DISPATCH].push(stored.id)
    request.app[state.WAKEUPS].notify()  # coalesced: one publish in flight at a time
    return _answer(source, stored, source.preset.accepted_status), "accepted"


def _check_headers(request: web.Request) -> None:
    """Refuse, before verifying, headers that could never be stored (a 4xx: no retries).

    Value bytes that are not UTF-8 are no reason: ``_new_event`` stores them as Latin-1.
    """
    size = sum(len(name) + len(value) for name, value in request.raw_headers)
    if size > MAX_HEADER_BYTES:
        raise ProblemError(
            431, f"the headers add up to {size} bytes; at most {MAX_HEADER_BYTES} are accepted"
        )


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
    public_url = request.app[state.CONFIG].server.public_url + str(request.rel_url)
    candidate = Request(body=body, headers=headers, url=public_url, method=request.method)
    if source.needs_fetch:
        assert isinstance(source.verifier, NeedsFetch)
        try:
            urls = source.verifier.urls_to_fetch(candidate)
        except VerificationError as e:
            raise ProblemError(401, f"signature not accepted: {e.reason}", reason=e.reason) from e
        fetched = await request.app[state.FETCHER].documents(urls)
        candidate = Request(
            body=body, headers=headers, url=public_url, method=request.method, fetched=fetched
        )
    return candidate


async def _handshake(request: web.Request, verified: Verified) -> web.Response:
    handshake = verified.handshake
    assert handshake is not None
    if handshake.confirm_url is not None:
        await request.app[state.FETCHER].confirm(handshake.confirm_url)
    if handshake.status == 204:
        return web.Response(status=204)
    return web.Response(
        status=handshake.status, body=handshake.body, content_type=handshake.content_type
    )


def _new_event(source: SourceRuntime, candidate: Request, verified: Verified) -> NewEvent:
    """The event to store, with the documented fallbacks for id and type.

    A verified event is always storable: a provider id that storage cannot hold as is
    (over 255 characters, a NUL, bytes that are not UTF-8) becomes ``sha256:`` and the
    hex digest of its bytes; NULs and undecodable bytes in the type become U+FFFD; a
    header value whose bytes are not UTF-8 is kept decoded as ISO-8859-1, its name
    listed in ``latin1_headers`` (see ``storage.events``).
    """
    provider_id = verified.event_id or "sha256:" + hashlib.sha256(candidate.body).hexdigest()
    if len(provider_id) > MAX_LENGTHS["provider_event_id"] or not _storable(provider_id):
        provider_id = "sha256:" + hashlib.sha256(_raw(provider_id)).hexdigest()
    event_type = _raw(verified.event_type or UNKNOWN_TYPE).decode("utf-8", "replace")
    event_type = event_type.replace("\x00", "\ufffd")[: MAX_LENGTHS["type"]]
    headers: dict[str, str] = {}
    latin1: list[str] = []
    for name, value in candidate.headers.items():
        if name in source.secret_headers:
            headers[name] = REDACTED
        elif _storable(value):
            headers[name] = value
        else:
            headers[name] = _raw(value).decode("latin-1")
            latin1.append(name)
    return NewEvent(
        source=source.config.name,
        type=event_type,
        provider_event_id=provider_id,
        headers=headers,
        body=candidate.body,
        received_at=now_us(),
        latin1_headers=tuple(latin1),
    )


def _storable(text: str) -> bool:
    """Whether ``text`` is valid Unicode without NUL, as both databases store text."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raw(text: str) -> bytes:
    """The bytes ``text`` was decoded from: aiohttp turns undecodable header bytes into
    surrogate escapes; a lone surrogate from elsewhere (JSON's ``\\ud800``) is kept as is."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _answer(source: SourceRuntime, stored: StoredEvent, status: int) -> web.Response:
    """``{"id", "duplicate"}`` with ``status``, or an empty 204 for a provider that
    treats anything but 204 as a failure (Discord), a duplicate included."""
    if source.preset.accepted_status == 204:
        return web.Response(status=204)
    body = orjson.dumps({"id": stored.id, "duplicate": stored.duplicate})
    return web.Response(status=status, body=body, content_type="application/json")
