"""Rendering a console page: the template, who is signed in, and the formatting filters.

Templates are Jinja2 with autoescaping on (``create_console``): every value, an event
body or a header included, is shown as text. ``render`` adds what the layout needs —
the user, the CSRF token for forms, which navigation link is current and what the
user's role may do (``gateway.api.access``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
import orjson
from aiohttp import web
from multidict import MultiDictProxy

from core.clock import SECOND_US, now_us
from gateway.api.access import at_least, may_change
from gateway.api.inputs import field_problem
from gateway.console.session import SIGNED
from gateway.problems import ProblemError


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    nav: str = "",
) -> web.Response:
    """``template`` rendered with ``context`` and the layout's own values."""
    signed = request.get(SIGNED)
    user = None if signed is None else signed.user
    layout = {
        "user": user,
        "csrf": "" if signed is None else signed.csrf,
        "nav": nav,
        "operates": user is not None and at_least(user, "operator"),
        "may_change": (lambda owner_id: user is not None and may_change(user, owner_id)),
    }
    return aiohttp_jinja2.render_template(template, request, {**layout, **context}, status=status)


def see_other(location: str) -> web.Response:
    """A 303 to ``location`` (after a POST, the page to show)."""
    return web.Response(status=303, headers={"Location": location})


def when(micros: int | None) -> str:
    """``micros`` (unix µs) as ``2026-05-01 09:30:12 UTC``, or ``—``."""
    if micros is None:
        return "—"
    return datetime.fromtimestamp(micros / SECOND_US, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(micros: int | None, now: int | None = None) -> str:
    """How long ago ``micros`` was, in the largest sensible unit (``3 min``), or ``—``."""
    if micros is None:
        return "—"
    return duration_s(max(0, (now_us() if now is None else now) - micros) / SECOND_US)


def duration_s(seconds: float) -> str:
    """``seconds`` as ``12 s``, ``3 min``, ``5 h`` or ``2 d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def pretty_body(raw: bytes | None) -> tuple[str, bool]:
    """The body as text to show, and whether it was JSON (then pretty-printed)."""
    data = raw or b""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode("utf-8", "replace"), False
    return orjson.dumps(parsed, option=orjson.OPT_INDENT_2).decode(), True


FILTERS = {"when": when, "age": age}


def text(form: MultiDictProxy[str | bytes | Any], name: str) -> str:
    """The text field ``name`` of ``form``, stripped ('' when absent)."""
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def time_filter(query: Mapping[str, str], name: str) -> int | None:
    """The query's ``name`` (a datetime-local or RFC 3339 time; UTC if it has no zone) in
    unix µs; None when empty; a 422 page when unreadable."""
    value = query.get(name, "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise ProblemError(
            422,
            f"{name}: not a time (use 2026-05-01T09:30 or 2026-05-01T09:30:00Z)",
            errors=[field_problem("query", name, "is not a time")],
        ) from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * SECOND_US)


def optional(query: Mapping[str, str], name: str) -> str | None:
    """The query's ``name`` stripped, or None when empty."""
    value = query.get(name, "").strip()
    return value or None
