"""Signing in with an API key and out again.

A good key opens a server-side session (``storage.sessions``); the browser gets only
its random id, in an ``HttpOnly``, ``SameSite=Lax`` cookie on ``/console`` (``Secure``
when ``server.public_url`` is https). The key itself is never stored or echoed.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from gateway import state
from gateway.api.auth import could_be_key
from gateway.console.pages import render, see_other, text
from gateway.console.session import SESSION_COOKIE, signed
from storage.sessions import SESSION_TTL_S

log = structlog.get_logger()


async def login_form(request: web.Request) -> web.Response:
    """The sign-in page."""
    return render(request, "login.html", {"error": None})


async def login(request: web.Request) -> web.Response:
    """Open a session for the key sent and go to the overview; 401 and the form again if
    the key is not a live one."""
    api_key = text(await request.post(), "api_key")
    session_id = None
    if could_be_key(api_key):
        session_id = await request.config_dict[state.STORAGE].sessions.start(api_key)
    if session_id is None:
        log.info("console_sign_in_refused")
        return render(request, "login.html", {"error": "Invalid API key"}, status=401)
    response = see_other("/console/")
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_TTL_S,
        path="/console",
        httponly=True,
        samesite="Lax",
        secure=request.config_dict[state.CONFIG].server.public_url.startswith("https://"),
    )
    log.info("console_signed_in")
    return response


async def logout(request: web.Request) -> web.Response:
    """End the session server-side and forget the cookie."""
    await request.config_dict[state.STORAGE].sessions.end(signed(request).session_id)
    response = see_other("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/console")
    log.info("console_signed_out", user_id=signed(request).user.id)
    return response
