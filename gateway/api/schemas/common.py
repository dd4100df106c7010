"""Base models, list pages and problem documents shared by every resource.

- ``Body``: request bodies. Strict (``"1"`` is not a number, ``1`` is not a string)
  and closed (an unknown or misspelt field is a 422, not silently dropped).
- ``Query``: query strings. Lax, since every value arrives as text; closed too.
- ``Resource``: responses. Every field is always present (null when empty), and the
  generated schema says so. They are built from storage records, already typed, with
  ``model_construct`` (no second validation on every row of a page); the serializer
  still warns on a value of the wrong type, which the tests turn into an error.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from storage.query import DEFAULT_LIMIT, MAX_LIMIT


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable() -> Any:
    """The default of a PATCH field: absent unless sent (``model_fields_set`` says which
    were sent); null is refused unless the field's type allows it."""
    return Field(default=None, json_schema_extra=_drop_default)


class Body(BaseModel):
    """A JSON request body."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Query(BaseModel):
    """Query-string parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Resource(BaseModel):
    """A JSON response."""

    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class ListQuery(Query):
    """Keyset pagination, newest first."""

    limit: int = Field(
        default=DEFAULT_LIMIT,
        ge=1,
        description=f"Page size; above {MAX_LIMIT} is clamped to {MAX_LIMIT}.",
    )
    cursor: str | None = Field(
        default=None,
        max_length=200,
        description="`next_cursor` of the previous page (opaque).",
    )


ItemT = TypeVar("ItemT", bound=BaseModel)


class Page(Resource, Generic[ItemT]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    data: list[ItemT]
    next_cursor: str | None


class FieldProblem(Resource):
    """What is wrong with one field of a request."""

    location: Literal["body", "query", "path", "header"] = Field(
        description="Where the field was sent."
    )
    field: str = Field(description="Its name, or its path inside the body: `sources[1]`.")
    message: str


class Problem(Resource):
    """An RFC 9457 problem document (`application/problem+json`)."""

    type: str
    title: str
    status: int
    detail: str


class ValidationProblem(Problem):
    """A 422: the request was well-formed but some fields are not acceptable."""

    errors: list[FieldProblem]
