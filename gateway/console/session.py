"""A console request's signed-in user: the session cookie's name, the user and the CSRF token."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from aiohttp import web

from storage.records import User

SESSION_COOKIE = "hookgate_session"


@dataclass(frozen=True)
class Signed:
    """The signed-in user of a request, its session id and the session's CSRF token."""

    user: User
    session_id: str

    @property
    def csrf(self) -> str:
        """The CSRF token of this session."""
        return csrf_token(self.session_id)


SIGNED = web.RequestKey("console_signed", Signed)


def csrf_token(session_id: str) -> str:
    """The CSRF token of session ``session_id``."""
    return hmac.new(session_id.encode(), b"hookgate-console-csrf", hashlib.sha256).hexdigest()


def signed(request: web.Request) -> Signed:
    """The signed-in user of a guarded request."""
    return request[SIGNED]
