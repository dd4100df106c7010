"""Reading a request's query string and JSON body into their declared models.

Every failure is a problem: malformed JSON is a 400; a well-formed request with
unacceptable values is a 422 whose ``errors`` name each field (``sources[1]``) and
where it was sent. Submitted values are never echoed back (they may be secrets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.problems import ProblemError

M = TypeVar("M", bound=BaseModel)
Location = Literal["body", "query", "path", "header"]
_TIME = "must be an RFC 3339 time with a time zone, e.g. 2026-12-01T09:30:00Z"
_MESSAGES = {
    "extra_forbidden": "is not a field of this request",
    "missing": "is required",
    "datetime_from_date_parsing": _TIME,
    "datetime_parsing": _TIME,
    "datetime_type": _TIME,
    "timezone_aware": _TIME,
}


def field_problem(location: Location, field: str, message: str) -> dict[str, str]:
    """One entry of a 422's ``errors``."""
    return {"location": location, "field": field, "message": message}


def invalid(errors: Sequence[dict[str, str]]) -> ProblemError:
    """The 422 for ``errors``."""
    fields = ", ".join(sorted({error["field"] or error["location"] for error in errors}))
    return ProblemError(422, f"invalid fields: {fields}", errors=list(errors))


def field_path(loc: Sequence[int | str]) -> str:
    """``("sources", 1)`` as ``sources[1]``; ``("headers", "X-A")`` as ``headers.X-A``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _problems(error: ValidationError, location: Location) -> list[dict[str, str]]:
    return [
        field_problem(
            location, field_path(detail["loc"]), _MESSAGES.get(detail["type"], detail["msg"])
        )
        for detail in error.errors(include_url=False, include_input=False)
    ]


def parse_query(request: web.Request, model: type[M]) -> M:
    """The query string as ``model``; a name given twice is refused."""
    values: dict[str, Any] = {}
    repeated = []
    for name, value in request.query.items():
        if name in values:
            repeated.append(field_problem("query", name, "is given more than once"))
        values[name] = value
    if repeated:
        raise invalid(repeated)
    try:
        return model.model_validate(values)
    except ValidationError as e:
        raise invalid(_problems(e, "query")) from e


async def parse_body(request: web.Request, model: type[M], *, required: bool) -> M:
    """The JSON body as ``model``; an empty body stands for ``{}`` unless ``required``."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise invalid([field_problem("body", "", "a JSON object is required")])
        raw = b"{}"
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        if any(detail["type"] == "json_invalid" for detail in e.errors()):
            raise ProblemError(400, "the body is not valid JSON") from e
        raise invalid(_problems(e, "body")) from e
