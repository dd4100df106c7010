"""RFC 9457 problem+json answers, and the one middleware that maps errors to them.

Handlers raise; this module decides the status. Nothing else builds error bodies
(``gateway.protocol`` answers aiohttp's own parser errors with ``problem_response`` too).

A client that hangs up before its answer is not an error: it is logged at info as
``client_disconnected`` and its request line says ``CLIENT_CLOSED_REQUEST`` (499, as
nginx logs it), never 500.
"""

from __future__ import annotations

import re
from http import HTTPStatus

import orjson
import structlog
from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError
from aiohttp.typedefs import Handler

from storage import InvalidFieldError, StorageError, StorageUnavailableError

log = structlog.get_logger()
PROBLEM_TYPE = "application/problem+json"
RETRY_AFTER_S = "5"
CLIENT_CLOSED_REQUEST = 499
# aiohttp only decodes the codings it knows, so the name is one of a few tokens; checked
# anyway because it is echoed.
_CODING = re.compile(r"[a-z0-9-]{1,16}")


class ProblemError(Exception):
    """An error answer a handler wants to give, with optional extra members."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **members: object,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.members = members


def problem_document(status: int, detail: str, **members: object) -> bytes:
    """The problem+json body: ``type``, ``title``, ``status``, ``detail`` and ``members``."""
    title = HTTPStatus(status).phrase
    slug = title.lower().replace(" ", "-")
    document = {
        "type": f"https://hookgate.dev/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **members,
    }
    return orjson.dumps(document)


def problem_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **members: object
) -> web.Response:
    """A problem+json response (see ``problem_document``)."""
    return web.Response(
        status=status,
        body=problem_document(status, detail, **members),
        content_type=PROBLEM_TYPE,
        headers=headers,
    )


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into problem+json, once, here."""
    try:
        return await handler(request)
    except ProblemError as e:
        return problem_response(e.status, e.detail, e.headers, **e.members)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        kept = {k: v for k, v in e.headers.items() if k.lower() in {"allow", "retry-after"}}
        return problem_response(e.status, e.reason, kept or None)
    except web.RequestPayloadError as e:
        return problem_response(400, _unreadable_body(request, e))
    except StorageError as e:
        return _storage_problem(request, e)
    except Exception as e:
        return _last_resort(request, e)


def _storage_problem(request: web.Request, error: StorageError) -> web.Response:
    """Storage down is "retry later"; a request that can never be stored is a 4xx."""
    if isinstance(error, StorageUnavailableError):
        log.warning("storage_unavailable", path=request.path)
        return problem_response(
            503, "storage is unavailable; retry later", {"Retry-After": RETRY_AFTER_S}
        )
    if isinstance(error, InvalidFieldError):
        # A 4xx, so that no provider retries what can never succeed.
        status = 431 if error.field == "headers" else 422
        return problem_response(status, f"the request cannot be stored: {error}")
    log.error("storage_error", path=request.path, error=str(error))
    return problem_response(
        503, "storage could not complete the request", {"Retry-After": RETRY_AFTER_S}
    )


def _last_resort(request: web.Request, error: Exception) -> web.Response:
    """A client that hung up (not an error), or a bug: still problem+json, with its trace."""
    if isinstance(error, ConnectionResetError) and _client_gone(request):
        log.info("client_disconnected", path=request.path)
        # Nobody reads this answer; its status is for the request log line.
        return web.Response(status=CLIENT_CLOSED_REQUEST)
    log.exception("unhandled_error", path=request.path)
    return problem_response(500, "internal error")


def _unreadable_body(request: web.Request, error: web.RequestPayloadError) -> str:
    """Why aiohttp could not hand over the body, without echoing any of it."""
    coding = request.headers.get("Content-Encoding", "").strip().lower()
    if isinstance(error.__cause__, ContentEncodingError) and _CODING.fullmatch(coding):
        return f"the body could not be decoded: Content-Encoding {coding}"
    return "the body could not be read (malformed framing or encoding)"


def _client_gone(request: web.Request) -> bool:
    """Whether the client's connection is closed (a reset from elsewhere is a bug)."""
    transport = request.transport
    return transport is None or transport.is_closing()
