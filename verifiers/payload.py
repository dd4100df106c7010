"""Reading id and type fields out of a JSON body without ever raising."""

from __future__ import annotations

from typing import Any

import orjson


def parse_json(body: bytes) -> Any:
    """The parsed JSON body, or None when the body is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def field(document: Any, *path: str | int) -> str | None:
    """The scalar at ``path`` inside ``document`` as a string, or None.

    Numbers are rendered as text (some providers use numeric ids); objects, lists,
    booleans and nulls are not ids and give None.
    """
    node = document
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                return None
        elif not isinstance(node, dict):
            return None
        node = node[step] if isinstance(step, int) else node.get(step)
    if isinstance(node, bool) or node is None:
        return None
    if isinstance(node, str | int | float):
        return str(node)
    return None
