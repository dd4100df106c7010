"""``/subscriptions`` routing fields: ``filter``, ``ordering`` and ``retry`` — set,
shown, changed and cleared through POST, PUT and PATCH; refused with a 422 naming the
bad part."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.api.conftest import Api

URL = "https://hooks.example.org/in"
FILTER = {"body": {"data.object.amount": {"$gte": 1000}}, "headers": {"x-shop": "eu"}}
RETRY = {"max_attempts": 2, "backoff": {"initial_s": 1, "multiplier": 3, "max_s": 60}}


def routing(body: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The routing fields of a subscription answer."""
    return body["filter"], body["ordering"], body["retry"]


async def test_routing_fields_default_to_none(api: Api) -> None:
    """A subscription created without them has no filter, no ordering, no own retry."""
    created = await api.call("POST", "/subscriptions", as_="member", json={"url": URL})

    assert (201, (None, "none", None)) == (created.status, routing(created.body))


async def test_routing_fields_are_set_shown_changed_and_cleared(api: Api) -> None:
    """POST sets them, GET shows them, PATCH changes one and keeps the others, null
    clears the filter and the retry policy, PUT without them restores the defaults."""
    created = await api.call(
        "POST",
        "/subscriptions",
        as_="member",
        json={"url": URL, "filter": FILTER, "ordering": "fifo", "retry": {"max_attempts": 1}},
    )
    path = f"/subscriptions/{created.body['id']}"
    shown = await api.call("GET", path, as_="member")
    patched = await api.call("PATCH", path, as_="member", json={"retry": RETRY})
    cleared = await api.call("PATCH", path, as_="member", json={"filter": None, "retry": None})
    emptied = await api.call("PATCH", path, as_="member", json={"filter": {}})
    replaced = await api.call("PUT", path, as_="member", json={"url": URL})

    one_retry = {
        "max_attempts": 1,
        "backoff": {"initial_s": None, "multiplier": None, "max_s": None},
    }
    assert (FILTER, "fifo", one_retry) == routing(shown.body)
    assert (FILTER, "fifo", RETRY) == routing(patched.body)
    assert (None, "fifo", None) == routing(cleared.body)
    assert (None, "fifo", None) == routing(emptied.body)
    assert (None, "none", None) == routing(replaced.body)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"filter": {"body": {"data": {"amount": {"$gtx": 5}}}}},
            ("filter.body.data.amount.$gtx", "unknown operator"),
        ),
        (
            {"filter": {"body": {"name": {"$startsWith": 5}}}},
            ("filter.body.name.$startsWith", "needs a string"),
        ),
        ({"filter": {"query": {}}}, ("filter.query", "unknown part (use `body` or `headers`)")),
        ({"filter": {"body": {"k": "x" * 17_000}}}, ("filter", "larger than 16384 bytes")),
        ({"ordering": "lifo"}, ("ordering", None)),
        ({"retry": {"max_attempts": 0}}, ("retry.max_attempts", None)),
        ({"retry": {"backoff": {"multiplier": 0.5}}}, ("retry.backoff.multiplier", None)),
        ({"retry": {"backoff": {"jitter": 0.1}}}, ("retry.backoff.jitter", None)),
    ],
)
async def test_bad_routing_fields_are_422_naming_the_part(
    api: Api, fields: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    """A bad filter operator, path or bound, ordering or retry setting: 422 naming it,
    on creation and on a PATCH alike."""
    created = await api.call("POST", "/subscriptions", as_="member", json={"url": URL, **fields})
    existing = await api.call("POST", "/subscriptions", as_="member", json={"url": URL})
    path = f"/subscriptions/{existing.body['id']}"
    patched = await api.call("PATCH", path, as_="member", json=fields)

    for answer in (created, patched):
        assert 422 == answer.status
        [error] = answer.body["errors"]
        field, message = expected
        assert field == error["field"]
        if message is not None:
            assert message == error["message"]


async def test_a_deep_filter_is_422(api: Api) -> None:
    """A filter nested deeper than 16 levels is refused."""
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(20):
        deep = {"a": deep}
    answer = await api.call(
        "POST", "/subscriptions", as_="member", json={"url": URL, "filter": {"body": deep}}
    )

    assert (422, [("filter", "deeper than 16 levels")]) == (
        answer.status,
        [(e["field"], e["message"]) for e in answer.body["errors"]],
    )
