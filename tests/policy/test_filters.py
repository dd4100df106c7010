"""Payload filters: what passes, what is refused at registration, and that evaluation
never raises on any JSON."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import HandlerConfig
from policy.errors import FilterError
from policy.filters import MAX_BYTES, NOT_JSON, compile_filter, parse_body
from policy.matching import targets_for
from storage.records import Event, Subscription, SubscriptionFields

CHARGE = {
    "type": "charge.succeeded",
    "data": {"object": {"amount": 1500, "currency": "eur", "customer": "cus_42"}},
    "tags": ["new", "vip"],
    "items": [{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}],
    "livemode": True,
    "refunded": None,
}
HEADERS = {"x-shop": "eu-west", "content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"type": "charge.succeeded"}, True),
        ({"type": "charge.failed"}, False),
        ({"data.object.amount": 1500}, True),
        ({"data": {"object": {"currency": "eur"}}}, True),
        ({"data.object.amount": {"$gte": 1000}}, True),
        ({"data.object.amount": {"$gt": 1500}}, False),
        ({"data.object.amount": {"$lt": 2000, "$gte": 1500}}, True),
        ({"data.object.amount": {"$lte": 1499}}, False),
        ({"data.object.currency": {"$in": ["usd", "eur"]}}, True),
        ({"data.object.currency": {"$nin": ["usd", "eur"]}}, False),
        ({"data.object.customer": {"$startsWith": "cus_"}}, True),
        ({"data.object.customer": {"$endsWith": "43"}}, False),
        ({"data.object.amount": {"$startsWith": "15"}}, False),
        ({"data.object.amount": {"$neq": 1500}}, False),
        ({"data.object.amount": {"$eq": 1500.0}}, True),
        ({"tags": "vip"}, True),
        ({"tags": {"$neq": "vip"}}, False),
        ({"tags": {"$neq": "spam"}}, True),
        ({"tags": ["new", "vip"]}, True),
        ({"items.sku": "B7"}, True),
        ({"items.sku": "Z9"}, False),
        ({"items.0.sku": "A1"}, True),
        ({"items.qty": {"$gt": 1}}, True),
        ({"livemode": True}, True),
        ({"livemode": 1}, False),
        ({"refunded": None}, True),
        ({"refunded": {"$exist": True}}, True),
        ({"missing": {"$exist": False}}, True),
        ({"missing": {"$exist": True}}, False),
        ({"missing": {"$neq": 3}}, True),
        ({"missing": 3}, False),
        ({"$or": [{"type": "charge.failed"}, {"tags": "vip"}]}, True),
        ({"$and": [{"type": "charge.succeeded"}, {"tags": "spam"}]}, False),
        ({"$not": {"type": "charge.failed"}}, True),
        ({"data.object.amount": {"$not": {"$gt": 1000}}}, False),
        ({"data.object.amount": {"$or": [{"$lt": 10}, {"$gt": 1000}]}}, True),
        ({"data.object": {"$eq": {"amount": 1500}}}, False),
        ({"type": {"$gt": "charge.a"}}, True),
    ],
)
def test_body_conditions(body: dict[str, Any], expected: bool) -> None:
    """Each operator, dotted and nested paths, arrays matching by any element, and JSON
    equality (``true`` is not ``1``) decide as a Hookdeck or Convoy user expects."""
    assert expected == compile_filter({"body": body}).matches(CHARGE, HEADERS)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-shop": "eu-west"}, True),
        ({"X-Shop": {"$startsWith": "eu-"}}, True),
        ({"x-shop": {"$in": ["us-east"]}}, False),
        ({"x-missing": {"$exist": False}}, True),
    ],
)
def test_header_conditions(headers: dict[str, Any], expected: bool) -> None:
    """Header names in a filter ignore case; values are the received strings."""
    assert expected == compile_filter({"headers": headers}).matches(CHARGE, HEADERS)


def test_a_body_that_is_not_json_never_matches_a_body_filter() -> None:
    """Not JSON: a non-empty ``body`` side fails, a headers-only filter still decides."""
    not_json = parse_body(b"<xml/>")
    body_filter = compile_filter({"body": {"$not": {"type": "x"}}})
    headers_filter = compile_filter({"body": {}, "headers": {"x-shop": "eu-west"}})

    assert (NOT_JSON, False, True) == (
        not_json,
        body_filter.matches(not_json, HEADERS),
        headers_filter.matches(not_json, HEADERS),
    )


@pytest.mark.parametrize("spec", [None, {}, {"body": {}, "headers": {}}])
def test_empty_filters_match_everything(spec: dict[str, Any] | None) -> None:
    """``null``, ``{}`` and empty sides are no filter, even for a body that is not JSON."""
    assert compile_filter(spec).matches(NOT_JSON, {})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"body": {"data": {"amount": {"$gtx": 1}}}},
            "filter.body.data.amount.$gtx: unknown operator",
        ),
        ({"body": {"data.amount": {"$gtx": 1}}}, "filter.body.data.amount.$gtx: unknown operator"),
        ({"body": {"data.$gt": 1}}, "filter.body.data.$gt: an operator cannot be part of a path"),
        ({"body": {"a..b": 1}}, "filter.body.a..b: a path has an empty segment"),
        ({"body": {"name": {"$startsWith": 7}}}, "filter.body.name.$startsWith: needs a string"),
        ({"body": {"n": {"$gt": True}}}, "filter.body.n.$gt: needs a number or a string"),
        ({"body": {"n": {"$in": "abc"}}}, "filter.body.n.$in: needs a list of values"),
        ({"body": {"n": {"$exist": "yes"}}}, "filter.body.n.$exist: needs true or false"),
        ({"body": {"$or": []}}, "filter.body.$or: needs a non-empty list of conditions"),
        (
            {"body": {"$or": [{"a": 1}, {"b": {"$x": 1}}]}},
            "filter.body.$or[1].b.$x: unknown operator",
        ),
        ({"body": [1]}, "filter.body: must be an object"),
        ({"payload": {}}, "filter.payload: unknown part (use `body` or `headers`)"),
        ([], "filter: must be an object with `body` and/or `headers`"),
    ],
)
def test_invalid_filters_name_the_bad_path(spec: Any, expected: str) -> None:
    """Refused at registration with the path and what is wrong there."""
    with pytest.raises(FilterError) as raised:
        compile_filter(spec)
    assert expected == str(raised.value)


def test_filters_are_bounded() -> None:
    """Deeper than 16 levels, or larger than 16 KB, is refused."""
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(16):
        deep = {"a": deep}
    large = {"body": {"k": "x" * MAX_BYTES}}
    messages = []
    for spec in ({"body": deep}, large):
        with pytest.raises(FilterError) as raised:
            compile_filter(spec)
        messages.append(str(raised.value))
    assert ["filter: deeper than 16 levels", "filter: larger than 16384 bytes"] == messages


def test_targets_for_applies_filters_once_compiled() -> None:
    """``targets_for`` skips a subscription whose filter the event fails, with filters
    given compiled or compiled on the spot."""
    fields = SubscriptionFields(
        url="https://big.example/", filter={"body": {"amount": {"$gt": 100}}}
    )
    subscriptions = [
        Subscription("sub_big", "usr_1", fields, None, 0, 0),
        Subscription(
            "sub_all", "usr_1", SubscriptionFields(url="https://all.example/"), None, 0, 0
        ),
    ]
    small = Event("evt_1", "stripe", "charge", "p1", 0, {}, b'{"amount": 5}', None)
    big = Event("evt_2", "stripe", "charge", "p2", 0, {}, b'{"amount": 500}', None)
    handlers: list[HandlerConfig] = []

    reached = [
        [t.subscription_id for t in targets_for(event, subscriptions, handlers)]
        for event in (small, big)
    ]
    assert [["sub_all"], ["sub_big", "sub_all"]] == reached


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["a", "b", "0", "$x", "items"]), children, max_size=4)
    ),
    max_leaves=30,
)
OPERANDS = {
    "$eq": JSON,
    "$neq": JSON,
    "$gt": st.integers() | st.text(max_size=4),
    "$lte": st.floats(allow_nan=False) | st.text(max_size=4),
    "$in": st.lists(JSON, max_size=3),
    "$nin": st.lists(JSON, max_size=3),
    "$exist": st.booleans(),
    "$startsWith": st.text(max_size=4),
    "$endsWith": st.text(max_size=4),
}
PATHS = st.sampled_from(["a", "b", "a.b", "items.0", "a.0.b", "items"])


def conditions() -> st.SearchStrategy[Any]:
    """Valid value conditions: literals, operators and their combinations."""
    leaf = JSON.filter(lambda value: not isinstance(value, dict)) | st.one_of(
        *(operand.map(lambda v, op=op: {op: v}) for op, operand in OPERANDS.items())
    )
    return st.recursive(
        leaf,
        lambda inner: (
            st.dictionaries(PATHS, inner, min_size=1, max_size=3)
            | st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"$or": cs})
            | st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"$and": cs})
            | inner.map(lambda c: {"$not": c})
        ),
        max_leaves=8,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    condition=st.dictionaries(PATHS, conditions(), min_size=1, max_size=3),
    body=JSON,
    headers=st.dictionaries(st.sampled_from(["a", "b"]), st.text(max_size=4), max_size=2),
)
def test_evaluation_never_raises(
    condition: dict[str, Any], body: object, headers: dict[str, str]
) -> None:
    """Any valid filter against any JSON body (and the not-JSON marker) answers a bool:
    a type mismatch is no match, never an error at dispatch."""
    try:
        compiled = compile_filter({"body": condition, "headers": condition})
    except FilterError:
        return  # a generated filter too deep or too large is refused, which is fine
    answers = {compiled.matches(body, headers), compiled.matches(NOT_JSON, headers)}
    assert answers <= {True, False}


def test_a_deeply_nested_body_does_not_exhaust_the_stack() -> None:
    """A body nested far deeper than Python's recursion limit is still evaluated."""
    body: object = "needle"
    for _ in range(5000):
        body = [body]
    assert compile_filter({"body": {"$eq": "needle"}}).matches(body, {})
