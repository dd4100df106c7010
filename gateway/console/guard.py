"""What every console request goes through: a session, a CSRF check, security headers.

- Pages need a session (the ``hookgate_session`` cookie, looked up in storage); without
  one a GET is sent to ``/console/login`` (303). Routes named in ``PUBLIC`` need none.
- A POST must carry the session's CSRF token in its ``csrf`` field; otherwise it is a
  403 page and nothing changes. The token is an HMAC of the session id, so it is per
  session and needs no storage.
- Every answer carries ``SECURITY_HEADERS``: a Content-Security-Policy allowing only
  hookgate's own origin (no inline script or style, no eval), and no caching of pages.
- ``ProblemError`` (and storage's domain errors, mapped by the API's own
  ``storage_problems``) become an HTML error page with the same status.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway import state
from gateway.api.operations import storage_problems
from gateway.console.pages import render
from gateway.console.session import SESSION_COOKIE, SIGNED, Signed, csrf_token
from gateway.problems import ProblemError

PUBLIC = frozenset({"login", "login_form", "static"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sessions, CSRF, error pages and security headers for every console request."""
    try:
        response = await _guarded(request, handler)
    except ProblemError as e:
        response = await error_page(request, e.status, e.detail)
    response.headers.update(SECURITY_HEADERS)
    if request.match_info.route.name != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.route.name in PUBLIC:
        return await handler(request)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    user = None
    if session_id:
        user = await request.config_dict[state.STORAGE].sessions.user(session_id)
    if user is None:
        return web.Response(status=303, headers={"Location": "/console/login"})
    request[SIGNED] = Signed(user, session_id)
    if request.method == "POST":
        form = await request.post()
        sent = form.get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(session_id)):
            raise ProblemError(403, "the form is stale or forged (no valid CSRF token)")
    with storage_problems():
        return await handler(request)


async def error_page(request: web.Request, status: int, detail: str) -> web.StreamResponse:
    """The console's page for an error answer."""
    return render(request, "error.html", {"status": status, "detail": detail}, status=status)
