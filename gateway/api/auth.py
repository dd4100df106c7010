"""Who is calling: ``Authorization: Bearer hg_…`` to a user, and the key's rate limit.

Keys are looked up by their SHA-256 (``storage.users.authenticate``); a value that
cannot be a key (another scheme, no ``hg_`` prefix, too long, a character outside
printable ASCII) is refused without a query. The caller's id is bound to the request's
log context.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from core.ratelimit import retry_after_header
from gateway import state
from gateway.api import state as api_state
from gateway.problems import ProblemError
from storage.crypto import API_KEY_PREFIX, hash_api_key
from storage.records import User

MAX_KEY_LENGTH = 128


def bearer_key(request: web.Request) -> str:
    """The API key of ``Authorization: Bearer hg_…``; 401 if there is none."""
    scheme, _, api_key = request.headers.get("Authorization", "").partition(" ")
    api_key = api_key.strip()
    if scheme.lower() != "bearer" or not api_key:
        raise ProblemError(
            401,
            "an API key is required: Authorization: Bearer hg_…",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return api_key


async def authenticate(request: web.Request, api_key: str) -> User:
    """The user holding ``api_key``; 401 if it is unknown or revoked."""
    user = None
    if could_be_key(api_key):
        user = await request.config_dict[state.STORAGE].users.authenticate(api_key)
    if user is None:
        raise ProblemError(
            401,
            "the API key is not valid (unknown or revoked)",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    structlog.contextvars.bind_contextvars(user_id=user.id)
    return user


def could_be_key(api_key: str) -> bool:
    """Whether ``api_key`` has a key's shape: worth hashing and looking up."""
    # Header bytes that are not UTF-8 reach us as surrogates, which cannot be hashed.
    return (
        api_key.startswith(API_KEY_PREFIX)
        and len(api_key) <= MAX_KEY_LENGTH
        and api_key.isascii()
        and api_key.isprintable()
    )


def take_token(request: web.Request, api_key: str) -> None:
    """429 with ``Retry-After`` if ``api_key`` is over its rate limit."""
    wait = request.config_dict[api_state.LIMITER].take(hash_api_key(api_key))
    if wait > 0:
        raise ProblemError(
            429,
            "too many requests with this API key; retry later",
            headers={"Retry-After": retry_after_header(wait)},
        )
