"""RFC 9457 problem+json answers, and the one middleware that maps errors to them.

Handlers raise; this module decides the status. Nothing else builds error bodies.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from storage import StorageError, StorageUnavailableError

log = structlog.get_logger()
PROBLEM_TYPE = "application/problem+json"
RETRY_AFTER_S = "5"


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


def problem_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **members: object
) -> web.Response:
    """A problem+json response: ``type``, ``title``, ``status``, ``detail`` and ``members``."""
    title = HTTPStatus(status).phrase
    slug = title.lower().replace(" ", "-")
    document = {
        "type": f"https://hookgate.dev/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **members,
    }
    return web.Response(
        status=status, body=orjson.dumps(document), content_type=PROBLEM_TYPE, headers=headers
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
    except StorageUnavailableError:
        log.warning("storage_unavailable", path=request.path)
        return problem_response(
            503, "storage is unavailable; retry later", {"Retry-After": RETRY_AFTER_S}
        )
    except StorageError as e:
        log.error("storage_error", path=request.path, error=str(e))
        return problem_response(
            503, "storage could not complete the request", {"Retry-After": RETRY_AFTER_S}
        )
    except Exception:
        # Last resort: a bug must still answer problem+json, and is logged with its trace.
        log.exception("unhandled_error", path=request.path)
        return problem_response(500, "internal error")
