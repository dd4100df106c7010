"""The authorization matrix: each role, each route, its own or another's resource.

"own" is a resource of the caller (its user, its key, its subscription, a delivery to
that subscription and the event behind it); "other" is the same of another member.
Every case gets fresh resources, so destructive routes do not disturb the others.
Expected statuses follow SPEC §7: a route the role may never use is 403; a resource
the caller may not read is 404; one it may read but not change is 403.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.api.app import OPERATIONS
from storage.retries import RetryFilter
from tests.gateway.api.conftest import ROLES, Api, add_delivery, add_subscription

URL = "https://hooks.example.org/in"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """A route, the body it is sent, and the status per (role, ownership)."""

    method: str
    path: str
    own: dict[str, int]
    other: dict[str, int]
    body: Any = None


def same(status: int) -> dict[str, int]:
    """``status`` for every role."""
    return dict.fromkeys(ROLES, status)


def by_role(admin: int, operator: int, member: int) -> dict[str, int]:
    """A status per role."""
    return {"admin": admin, "operator": operator, "member": member}


ROUTES = (
    Route("GET", "/users", own=by_role(200, 200, 403), other=by_role(200, 200, 403)),
    Route(
        "POST",
        "/users",
        own=by_role(201, 403, 403),
        other=by_role(201, 403, 403),
        body={"name": "New", "email": "{unique}@example.com", "role": "member"},
    ),
    Route("GET", "/users/me", own=same(200), other=same(200)),
    Route("GET", "/users/{user}", own=same(200), other=by_role(200, 200, 404)),
    Route(
        "PATCH",
        "/users/{user}",
        own=by_role(200, 403, 403),
        other=by_role(200, 403, 403),
        body={"name": "Renamed"},
    ),
    # The other user owns a subscription (see ``resources``): an admin is past the role
    # check but refused, 409, until it is deleted.
    Route("DELETE", "/users/{user}", own=by_role(409, 403, 403), other=by_role(409, 403, 403)),
    Route("GET", "/users/{user}/keys", own=same(200), other=by_role(200, 200, 404)),
    Route("POST", "/users/{user}/keys", own=same(201), other=by_role(201, 403, 404)),
    Route("GET", "/users/{user}/keys/{key}", own=same(200), other=by_role(200, 200, 404)),
    Route("DELETE", "/users/{user}/keys/{key}", own=same(204), other=by_role(204, 403, 404)),
    Route("GET", "/subscriptions", own=same(200), other=same(200)),
    Route("POST", "/subscriptions", own=same(201), other=same(201), body={"url": URL}),
    Route("GET", "/subscriptions/{sub}", own=same(200), other=by_role(200, 200, 404)),
    Route(
        "PUT",
        "/subscriptions/{sub}",
        own=same(200),
        other=by_role(200, 403, 404),
        body={"url": URL},
    ),
    Route(
        "PATCH",
        "/subscriptions/{sub}",
        own=same(200),
        other=by_role(200, 403, 404),
        body={"description": "x"},
    ),
    Route("DELETE", "/subscriptions/{sub}", own=same(204), other=by_role(204, 403, 404)),
    Route(
        "POST", "/subscriptions/{sub}/rotate-secret", own=same(200), other=by_role(200, 403, 404)
    ),
    Route("POST", "/subscriptions/{sub}/test", own=same(202), other=by_role(202, 403, 404)),
    Route("GET", "/subscriptions/{sub}/stats", own=same(200), other=by_role(200, 200, 404)),
    Route("GET", "/events", own=same(200), other=same(200)),
    Route("GET", "/events/{event}", own=same(200), other=by_role(200, 200, 404)),
    Route(
        "POST", "/events/{event}/replay", own=by_role(202, 202, 403), other=by_role(202, 202, 403)
    ),
    Route("GET", "/deliveries", own=same(200), other=same(200)),
    Route("GET", "/deliveries/{delivery}", own=same(200), other=by_role(200, 200, 404)),
    Route(
        "POST",
        "/deliveries/{delivery}/retry",
        own=by_role(202, 202, 403),
        other=by_role(202, 202, 403),
    ),
    Route(
        "POST",
        "/deliveries/retry",
        own=same(200),
        other=same(200),
        body={"dry_run": True},
    ),
    Route(
        "POST",
        "/events/replay",
        own=by_role(200, 200, 403),
        other=by_role(200, 200, 403),
        body={"dry_run": True},
    ),
    Route("GET", "/jobs", own=same(200), other=same(200)),
    Route("GET", "/jobs/{job}", own=same(200), other=by_role(200, 200, 404)),
    Route("POST", "/jobs/{job}/cancel", own=same(200), other=by_role(200, 200, 404)),
    Route("GET", "/sources", own=same(200), other=same(200)),
    Route("GET", "/stats", own=by_role(200, 200, 403), other=by_role(200, 200, 403)),
    Route("GET", "/event-types", own=same(200), other=same(200)),
    Route("GET", "/openapi.json", own=same(200), other=same(200)),
)


async def resources(api: Api, role: str, ownership: str) -> dict[str, str]:
    """Fresh ids to fill a route's path: the caller's, or another member's."""
    if ownership == "own":
        owner = api.user(role)
    else:
        owner = (await api.add_caller(f"other-{secrets.token_hex(4)}", "member")).user
    await api.storage.users.create_key(owner.id)
    spare_key = (await api.storage.users.keys(owner.id))[0]
    subscription = await add_subscription(api.storage, owner)
    delivery = await add_delivery(api.storage, subscription)
    job = await api.storage.jobs.create(owner.id, RetryFilter(statuses=("pending",)))
    return {
        "user": owner.id,
        "key": spare_key.id,
        "sub": subscription.id,
        "event": delivery.event_id,
        "delivery": delivery.id,
        "job": job.id,
        "unique": secrets.token_hex(6),
    }


def filled(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with ``{name}`` placeholders in its strings replaced by ``ids``."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: filled(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES)
async def test_each_route_answers_each_role_exactly(api: Api, role: str) -> None:
    """Every route, for this role, on its own and on another member's resource."""
    expected: dict[tuple[str, str, str], int] = {}
    actual: dict[tuple[str, str, str], int] = {}
    for route in ROUTES:
        for ownership, statuses in (("own", route.own), ("other", route.other)):
            ids = await resources(api, role, ownership)
            answer = await api.call(
                route.method, filled(route.path, ids), as_=role, json=filled(route.body, ids)
            )
            case = (route.method, route.path, ownership)
            expected[case] = statuses[role]
            actual[case] = answer.status
    assert expected == actual


async def test_every_authenticated_route_needs_a_key(api: Api) -> None:
    """Without a key, every route but the OpenAPI document is 401."""
    ids = await resources(api, "member", "own")
    expected = {(r.method, r.path): 401 for r in ROUTES if r.path != "/openapi.json"}

    actual = {}
    for route in ROUTES:
        if route.path != "/openapi.json":
            answer = await api.call(
                route.method, filled(route.path, ids), as_=None, json=filled(route.body, ids)
            )
            actual[(route.method, route.path)] = answer.status

    assert expected == actual


# The stream never ends, so it cannot be called here like the other routes; which
# records each role hears on it is tested in ``test_stream.py``.
NOT_IN_MATRIX = {("GET", "/stream")}


def test_the_matrix_covers_every_operation() -> None:
    """No route of the API is left out of the matrix (but the stream, tested apart)."""
    declared = {(op.method, op.path) for op in OPERATIONS} - NOT_IN_MATRIX
    covered = {(route.method, PLACEHOLDER.sub(_declared_name, route.path)) for route in ROUTES}

    assert declared == covered


def _declared_name(match: re.Match[str]) -> str:
    return "{key_id}" if match.group(1) == "key" else "{id}"
