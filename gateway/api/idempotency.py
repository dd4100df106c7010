"""``Idempotency-Key`` on the API's POST routes, with Stripe's semantics.

A client that sends ``Idempotency-Key: <key>`` with a POST may send the request again
(a timeout, a lost answer) without it being done twice: within 24 hours the same key
and the same request — method, path and body — answer the first response again
(status, body, ``Location``) with ``Idempotent-Replayed: true``. The same key with
another request is a 422 naming ``Idempotency-Key``; a request sent while the first
is still running is a 409. Keys are per user (the API key's owner).

Only a request that reaches its handler is recorded: one refused by authentication,
the rate limit, the role or validation records nothing (send it again, fixed, with the
same key). One the handler refused (a 404, a 409) is recorded as answered. If it fails
for the server's reasons (storage down, a bug, the client gone mid-way) the key is let
go, so the same request can be sent again and run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from gateway import state
from gateway.api.inputs import field_problem, invalid
from gateway.problems import ProblemError, problem_response
from storage import StorageError
from storage.idempotency import Recorded, StoredResponse
from storage.records import User

log = structlog.get_logger()
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_KEPT_HEADERS = ("Content-Type", "Location")


def idempotency_key(request: web.Request) -> str | None:
    """The request's ``Idempotency-Key``, if it sent one; 422 if it is not a key."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not (0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise invalid(
            [
                field_problem(
                    "header", HEADER, f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
                )
            ]
        )
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests under one key "the same request"."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


async def once(
    request: web.Request,
    user: User,
    key: str,
    respond: Callable[[], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """``respond()`` the first time ``user`` sends ``key``; its recorded response after."""
    keys = request.config_dict[state.STORAGE].idempotency
    sent = fingerprint(request.method, request.raw_path, await request.read())
    recorded = await keys.begin(user.id, key, sent)
    if recorded is not None:
        return _recorded_response(recorded, sent)
    try:
        response = await respond()
    except ProblemError as e:
        if e.status >= 500:
            await keys.release(user.id, key)
            raise
        response = problem_response(e.status, e.detail, e.headers, **e.members)
    except BaseException:
        await keys.release(user.id, key)
        raise
    if not isinstance(response, web.Response):  # streamed as it was made: nothing to keep
        await keys.release(user.id, key)
        return response
    body = response.body if isinstance(response.body, bytes) else b""
    kept = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
    try:
        await keys.finish(user.id, key, StoredResponse(response.status, kept, body))
    except StorageError as e:  # done, but not recorded: answer it anyway
        log.warning("idempotency_record_failed", error=str(e))
    return response


def _recorded_response(recorded: Recorded, sent: str) -> web.Response:
    if recorded.fingerprint != sent:
        raise invalid(
            [
                field_problem(
                    "header",
                    HEADER,
                    "was used with another request (method, path or body); use a new key",
                )
            ]
        )
    if recorded.response is None:
        raise ProblemError(
            409, f"a request with this {HEADER} is still being processed; retry later"
        )
    stored = recorded.response
    return web.Response(
        status=stored.status,
        body=stored.body or None,
        headers={**stored.headers, REPLAYED: "true"},
    )
