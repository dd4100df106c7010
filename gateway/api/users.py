"""``/users``: who may call the API, with which role, and their API keys.

Keys are a sub-collection: ``GET/POST /users/{id}/keys`` lists and issues them,
``GET /users/{id}/keys/{key_id}`` shows one and ``DELETE`` revokes it (at once; the
revoked key stays listed with its ``revoked_at``). A key is shown only when issued.
"""

from __future__ import annotations

import structlog

from gateway.api.access import require_changeable, require_visible_user
from gateway.api.operations import Call, Reply, Routes, page_json
from gateway.api.schemas.common import ListQuery
from gateway.api.schemas.users import (
    ApiKeyCreated,
    ApiKeyOut,
    ApiKeyPage,
    UserCreated,
    UserIn,
    UserOut,
    UserPage,
    UserPatch,
)
from gateway.problems import ProblemError
from storage.records import ApiKey

log = structlog.get_logger()
TAG = "users"


async def list_users(call: Call) -> Reply:
    """Every user, newest first. Operators and admins."""
    query = call.query_as(ListQuery)
    page = await call.storage.users.page(limit=query.limit, cursor=query.cursor)
    rows = [UserOut.row(user) for user in page.items]
    return Reply(200, page_json(rows, page.next_cursor))


async def create_user(call: Call) -> Reply:
    """Create a user; the answer carries its first API key, shown this once. Admins."""
    body = call.body_as(UserIn)
    user, api_key = await call.storage.users.create(body.name, body.email, body.role)
    log.info("user_created", created_user_id=user.id, role=user.role)
    created = UserCreated.model_validate({**UserOut.row(user), "api_key": api_key})
    return Reply(201, created, {"Location": call.location("get_user", id=user.id)})


async def get_me(call: Call) -> Reply:
    """The user whose API key made this request."""
    return Reply(200, UserOut.of(call.user))


async def get_user(call: Call) -> Reply:
    """A user. Members may read only themselves."""
    user_id = call.path("id")
    require_visible_user(call.user, user_id)
    return Reply(200, UserOut.of(await call.storage.users.get(user_id)))


async def update_user(call: Call) -> Reply:
    """Change a user's name, e-mail or role; fields left out keep their value. Admins
    (not their own role)."""
    body = call.body_as(UserPatch)
    changes = body.model_dump(include=body.model_fields_set)
    if call.path("id") == call.user.id and changes.get("role", call.user.role) != call.user.role:
        raise ProblemError(409, "you cannot change your own role; ask another admin")
    user = await call.storage.users.update(call.path("id"), **changes)
    log.info("user_updated", updated_user_id=user.id, fields=sorted(changes))
    return Reply(200, UserOut.of(user))


async def delete_user(call: Call) -> Reply:
    """Delete a user: its keys stop working, its e-mail is free again. Admins; not
    oneself. 409 while it owns subscriptions: deleting those first cancels their pending
    deliveries; their delivery history is kept, the user's deletion included."""
    user_id = call.path("id")
    if user_id == call.user.id:
        raise ProblemError(409, "you cannot delete your own user; ask another admin")
    await call.storage.users.delete(user_id)
    log.info("user_deleted", deleted_user_id=user_id)
    return Reply(204)


async def list_keys(call: Call) -> Reply:
    """A user's API keys, newest first, revoked ones included (never the keys themselves)."""
    user_id = await _visible_user_id(call)
    keys = await call.storage.users.keys(user_id)
    return Reply(200, page_json([ApiKeyOut.row(key) for key in keys], None))


async def create_key(call: Call) -> Reply:
    """Issue a new API key (shown this once); earlier keys stay valid until revoked.
    A user for itself, or an admin for anyone."""
    user_id = await _changeable_user_id(call)
    api_key = await call.storage.users.create_key(user_id)
    stored = _key_with_prefix(await call.storage.users.keys(user_id), api_key)
    log.info("api_key_issued", key_user_id=user_id, key_id=stored.id)
    created = ApiKeyCreated.model_validate({**ApiKeyOut.row(stored), "api_key": api_key})
    location = call.location("get_key", id=user_id, key_id=stored.id)
    return Reply(201, created, {"Location": location})


async def get_key(call: Call) -> Reply:
    """One of a user's API keys."""
    user_id = await _visible_user_id(call)
    return Reply(200, ApiKeyOut.of(await _key(call, user_id, call.path("key_id"))))


async def revoke_key(call: Call) -> Reply:
    """Revoke an API key at once. A user its own keys, or an admin anyone's."""
    user_id = await _changeable_user_id(call)
    key_id = call.path("key_id")
    await call.storage.users.revoke_key(user_id, key_id)
    log.info("api_key_revoked", key_user_id=user_id, key_id=key_id)
    return Reply(204)


async def _visible_user_id(call: Call) -> str:
    user_id = call.path("id")
    require_visible_user(call.user, user_id)
    await call.storage.users.get(user_id)
    return user_id


async def _changeable_user_id(call: Call) -> str:
    user_id = await _visible_user_id(call)
    require_changeable(call.user, user_id, "user's API keys")
    return user_id


async def _key(call: Call, user_id: str, key_id: str) -> ApiKey:
    for key in await call.storage.users.keys(user_id):
        if key.id == key_id:
            return key
    raise ProblemError(404, f"no key {key_id}")


def _key_with_prefix(keys: list[ApiKey], api_key: str) -> ApiKey:
    """The stored facts of the key just issued (keys made in one millisecond sort at
    random, so it is found by its prefix, not its place)."""
    for key in keys:
        if api_key.startswith(key.prefix) and key.revoked_at is None:
            return key
    raise ProblemError(409, "the new key was revoked before it could be shown; issue another")


api = Routes(TAG)
_USER = "/users/{id}"
_KEYS = "/users/{id}/keys"
_KEY = "/users/{id}/keys/{key_id}"
OPERATIONS = (
    api.get("/users", list_users, "List users", {200: UserPage}, role="operator", query=ListQuery),
    api.post(
        "/users",
        create_user,
        "Create a user",
        {201: UserCreated},
        role="admin",
        body=UserIn,
        problems=(409,),
    ),
    api.get("/users/me", get_me, "The caller", {200: UserOut}),
    api.get(_USER, get_user, "Get a user", {200: UserOut}),
    api.patch(
        _USER,
        update_user,
        "Update a user",
        {200: UserOut},
        role="admin",
        body=UserPatch,
        problems=(409,),
    ),
    api.delete(_USER, delete_user, "Delete a user", {204: None}, role="admin", problems=(409,)),
    api.get(_KEYS, list_keys, "List a user's API keys", {200: ApiKeyPage}),
    api.post(_KEYS, create_key, "Issue an API key", {201: ApiKeyCreated}, problems=(409,)),
    api.get(_KEY, get_key, "Get an API key", {200: ApiKeyOut}),
    api.delete(_KEY, revoke_key, "Revoke an API key", {204: None}),
)
