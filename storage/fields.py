"""Bounds on stored values, checked before any SQL so nothing is half-written."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from storage.errors import InvalidFieldError

MAX_LENGTHS = {
    "name": 200,
    "email": 320,
    "url": 2048,
    "description": 1000,
    "source": 64,
    "type": 255,
    "provider_event_id": 255,
    "target": 2100,
    "headers": 65_536,
    "event_types": 255,
    "sources": 64,
}


def bounded(field: str, value: str) -> str:
    """``value`` if it fits ``field``'s maximum length."""
    limit = MAX_LENGTHS[field]
    if len(value) > limit:
        raise InvalidFieldError(field, f"longer than {limit} characters")
    if "\x00" in value:
        raise InvalidFieldError(field, "contains a NUL character")
    return value


def bounded_list(field: str, values: tuple[str, ...]) -> str:
    """``values`` as stored JSON, each within ``field``'s maximum length."""
    for value in values:
        bounded(field, value)
    return orjson.dumps(list(values)).decode()


def headers_json(field: str, headers: Mapping[str, str]) -> str:
    """``headers`` as stored JSON, within the headers size limit."""
    try:
        text = orjson.dumps(dict(headers)).decode()
    except orjson.JSONEncodeError as e:  # a lone surrogate: not text that can be stored
        raise InvalidFieldError(field, "holds characters that are not valid Unicode") from e
    if len(text) > MAX_LENGTHS["headers"]:
        raise InvalidFieldError(field, f"larger than {MAX_LENGTHS['headers']} bytes")
    return text
