"""Payload filters: which events a subscription wants, by their body and headers.

A filter is a JSON object ``{"body": {...}, "headers": {...}}`` in the syntax Hookdeck
and Convoy users know. Each side is a *condition* on the event's parsed JSON body, or
on its headers (a map of lower-case names to values):

- a condition object maps keys to conditions, all of which must hold. A key is a
  dotted path (``"data.object.amount"``; ``{"data": {"object": {...}}}`` says the
  same) or an operator;
- a plain value (string, number, boolean, null, list) matches by equality: JSON
  equality, where ``true`` is not ``1``;
- operators: ``$eq``, ``$neq``, ``$gt``, ``$gte``, ``$lt``, ``$lte`` (a number or a
  string; numbers compare with numbers, strings with strings), ``$in``, ``$nin`` (a
  list of values), ``$exist`` (a boolean), ``$startsWith``, ``$endsWith`` (a string,
  matched against strings), ``$or``, ``$and`` (a non-empty list of conditions),
  ``$not`` (a condition).

An array in the body matches when any element matches (``{"tags": "vip"}`` matches
``{"tags": ["new", "vip"]}``, ``{"items.sku": "A1"}`` matches an ``items`` list
holding ``{"sku": "A1"}``); a digit path segment also indexes a list (``items.0``).
The negations are negations of the positive form: ``{"tags": {"$neq": "spam"}}``
means no tag is ``spam``. A missing field matches only ``$exist: false`` and the
negations.

``compile_filter`` validates once, at registration (``FilterError`` names the bad
operator or path, e.g. ``filter.body.data.amount.$gtx: unknown operator``), within
bounds (``MAX_DEPTH`` levels, ``MAX_BYTES`` serialised), and returns a ``Filter``
whose ``matches`` never raises: a value of another type than an operator expects is
simply no match. The relay compiles each subscription's filter once per read of the
subscriptions and parses each event's body once (``parse_body``); a body that is not
JSON never matches a non-empty ``body`` side. ``None`` or ``{}`` is no filter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

import orjson

from policy.errors import FilterError

MAX_DEPTH: Final = 16
MAX_BYTES: Final = 16_384
SIDES: Final = ("body", "headers")


class _Missing:
    """A path that leads nowhere (distinct from JSON ``null``)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
NOT_JSON: Final = _Missing()  # what ``parse_body`` answers for a body that is not JSON
Test = Callable[[object], bool]


@dataclass(frozen=True, slots=True)
class Filter:
    """A compiled filter: ``matches`` decides, without parsing the filter again."""

    body: Test | None = None
    headers: Test | None = None

    def matches(self, body: object, headers: Mapping[str, str]) -> bool:
        """Whether an event with parsed ``body`` (``NOT_JSON`` if it is not JSON) and
        lower-case ``headers`` passes. Never raises."""
        if self.body is not None and (body is NOT_JSON or not self.body(body)):
            return False
        return self.headers is None or self.headers(dict(headers))

    @property
    def reads_body(self) -> bool:
        """Whether ``matches`` needs the parsed body (else any value will do)."""
        return self.body is not None


EVERYTHING: Final = Filter()
NOTHING: Final = Filter(headers=lambda _: False)


def parse_body(body: bytes | None) -> object:
    """The body as JSON, or ``NOT_JSON`` (including a body left out of a read)."""
    if body is None:
        return NOT_JSON
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return NOT_JSON


def compile_filter(spec: object) -> Filter:
    """The compiled form of ``spec`` (a filter as stored or sent); ``FilterError``
    naming the first bad path if it is not a valid filter."""
    if spec is None:
        return EVERYTHING
    _check_bounds(spec)
    if not isinstance(spec, dict):
        raise FilterError("filter", "must be an object with `body` and/or `headers`")
    for side in spec:
        if side not in SIDES:
            raise FilterError(f"filter.{side}", "unknown part (use `body` or `headers`)")
    sides: dict[str, Test | None] = {}
    for side in SIDES:
        condition = spec.get(side)
        if condition is None or condition == {}:
            sides[side] = None
            continue
        if not isinstance(condition, dict):
            raise FilterError(f"filter.{side}", "must be an object")
        sides[side] = _object(condition, f"filter.{side}", lower=side == "headers")
    return Filter(body=sides["body"], headers=sides["headers"])


def _check_bounds(spec: object) -> None:
    try:
        size = len(orjson.dumps(spec))
    except (orjson.JSONEncodeError, TypeError) as e:
        raise FilterError("filter", "is not JSON") from e
    if size > MAX_BYTES:
        raise FilterError("filter", f"larger than {MAX_BYTES} bytes")
    stack: list[tuple[object, int]] = [(spec, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FilterError("filter", f"deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _condition(spec: object, path: str, *, lower: bool = False) -> Test:
    """A test of one value: an operator object, a field object, or a value to equal."""
    if isinstance(spec, dict):
        return _object(spec, path, lower=lower)
    return _equals(spec)


def _object(spec: dict[str, object], path: str, *, lower: bool = False) -> Test:
    tests: list[Test] = []
    for key, value in spec.items():
        where = f"{path}.{key}"
        if key.startswith("$"):
            tests.append(_operator(key, value, where))
        else:
            tests.append(_field(key.lower() if lower else key, value, where))
    return _all(tests)


def _field(key: str, spec: object, path: str) -> Test:
    segments = key.split(".")
    if any(not segment for segment in segments):
        raise FilterError(path, "a path has an empty segment")
    for segment in segments:
        if segment.startswith("$"):
            known = segment in _OPERATORS
            raise FilterError(
                path, "an operator cannot be part of a path" if known else "unknown operator"
            )
    test = _condition(spec, path)
    for segment in reversed(segments):
        test = _descend(segment, test)
    return test


def _operator(name: str, operand: object, path: str) -> Test:
    build = _OPERATORS.get(name)
    if build is None:
        raise FilterError(path, "unknown operator")
    return build(name, operand, path)


def _equality(name: str, operand: object, path: str) -> Test:
    equal = _equals(operand)
    return equal if name == "$eq" else _negate(equal)


def _ordering(name: str, operand: object, path: str) -> Test:
    if isinstance(operand, str):
        return _leaf(_order(name, operand))
    if isinstance(operand, int | float) and not isinstance(operand, bool):
        return _leaf(_order(name, operand))
    raise FilterError(path, "needs a number or a string")


def _membership(name: str, operand: object, path: str) -> Test:
    if not isinstance(operand, list):
        raise FilterError(path, "needs a list of values")
    listed = _leaf(lambda value: any(_same(value, item) for item in operand))
    return listed if name == "$in" else _negate(listed)


def _existence(name: str, operand: object, path: str) -> Test:
    if not isinstance(operand, bool):
        raise FilterError(path, "needs true or false")
    return lambda value: (value is not MISSING) is operand


def _affix(name: str, operand: object, path: str) -> Test:
    if not isinstance(operand, str):
        raise FilterError(path, "needs a string")
    if name == "$endsWith":
        return _leaf(lambda value: isinstance(value, str) and value.endswith(operand))
    return _leaf(lambda value: isinstance(value, str) and value.startswith(operand))


def _combination(name: str, operand: object, path: str) -> Test:
    if not isinstance(operand, list) or not operand:
        raise FilterError(path, "needs a non-empty list of conditions")
    tests = [_condition(item, f"{path}[{index}]") for index, item in enumerate(operand)]
    return _any(tests) if name == "$or" else _all(tests)


def _negation(name: str, operand: object, path: str) -> Test:
    return _negate(_condition(operand, path))


_OPERATORS: Final[dict[str, Callable[[str, object, str], Test]]] = {
    "$eq": _equality,
    "$neq": _equality,
    "$gt": _ordering,
    "$gte": _ordering,
    "$lt": _ordering,
    "$lte": _ordering,
    "$in": _membership,
    "$nin": _membership,
    "$exist": _existence,
    "$startsWith": _affix,
    "$endsWith": _affix,
    "$or": _combination,
    "$and": _combination,
    "$not": _negation,
}
_ORDERS: Final[dict[str, Callable[[object, object], object]]] = {
    "$gt": lambda a, b: a > b,  # type: ignore[operator]
    "$gte": lambda a, b: a >= b,  # type: ignore[operator]
    "$lt": lambda a, b: a < b,  # type: ignore[operator]
    "$lte": lambda a, b: a <= b,  # type: ignore[operator]
}


def _order(name: str, operand: float | str) -> Test:
    compare = _ORDERS[name]
    if isinstance(operand, str):
        return lambda value: isinstance(value, str) and bool(compare(value, operand))
    return lambda value: _is_number(value) and bool(compare(value, operand))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _candidates(value: object) -> Iterator[object]:
    """``value`` and, for a list, every element at any depth (without recursion: a
    deeply nested body must not exhaust the stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, list):
            stack.extend(reversed(item))


def _leaf(test: Test) -> Test:
    """``test`` applied to a value or, for a list, to any element."""
    return lambda value: any(test(item) for item in _candidates(value))


def _equals(expected: object) -> Test:
    return _leaf(lambda value: _same(value, expected))


def _descend(segment: str, test: Test) -> Test:
    index = int(segment) if segment.isdigit() else None

    def descend(value: object) -> bool:
        found = False
        for item in _candidates(value):
            if isinstance(item, dict) and segment in item:
                found = True
                if test(item[segment]):
                    return True
            elif isinstance(item, list) and index is not None and index < len(item):
                found = True
                if test(item[index]):
                    return True
        return not found and test(MISSING)

    return descend


def _negate(test: Test) -> Test:
    return lambda value: not test(value)


def _all(tests: list[Test]) -> Test:
    return lambda value: all(test(value) for test in tests)


def _any(tests: list[Test]) -> Test:
    return lambda value: any(test(value) for test in tests)


def _same(value: object, expected: object) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` is ``1.0``. The recursion is bounded by
    ``expected``, a filter literal (at most ``MAX_DEPTH`` deep)."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return value is expected
    if _is_number(expected):
        return _is_number(value) and value == expected
    if isinstance(expected, list):
        return (
            isinstance(value, list)
            and len(value) == len(expected)
            and all(_same(v, e) for v, e in zip(value, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(value, dict)
            and value.keys() == expected.keys()
            and all(_same(value[key], item) for key, item in expected.items())
        )
    return type(value) is type(expected) and value == expected
