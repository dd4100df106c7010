"""The OpenAPI 3.1 document, generated from the operations and their pydantic models.

Nothing here is written by hand beside the code: paths, methods, parameters and
bodies come from the ``Operation`` declarations the router serves, and every schema
from the models that validate requests (``mode="validation"``) and render responses
(``mode="serialization"``). pydantic emits JSON Schema 2020-12, the dialect of
OpenAPI 3.1, so the schemas go into ``components`` as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue
from pydantic.json_schema import models_json_schema

from gateway.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from gateway.api.idempotency import MAX_KEY_LENGTH
from gateway.api.operations import Operation
from gateway.api.schemas.common import Problem, ValidationProblem

REF = "#/components/schemas/{model}"
JSON = "application/json"
PROBLEM = "application/problem+json"
SECURITY_SCHEME = "apiKey"
Mode = Literal["validation", "serialization"]
_PATH_PARAMETER = re.compile(r"\{(\w+)\}")
_AUTHENTICATED_PROBLEMS = (401, 403, 429, 503)
# Any request may be malformed HTTP (400, answered before routing: gateway.protocol) or
# too slow to arrive (408).
_TRANSPORT_PROBLEMS = (400, 408)
_HEADER_DOCS = {
    "Location": "Where the new resource (or the delivery to follow) can be read.",
    "Retry-After": "Seconds to wait before retrying.",
    "WWW-Authenticate": "The authentication scheme: `Bearer`.",
}
IDEMPOTENCY_DOC = (
    "Send the request again with the same key (within 24 h, same body) to get the first "
    "response again instead of doing it twice (`Idempotent-Replayed: true`); the same key "
    "with another request is a 422, and while the first is still running a 409."
)
_PROBLEM_HEADERS = {401: ("WWW-Authenticate",), 429: ("Retry-After",), 503: ("Retry-After",)}
DESCRIPTION = """\
Manage users, subscriptions and the delivery history of hookgate.

Authenticate with `Authorization: Bearer hg_…`. Roles: `member` manages its own
subscriptions and reads their deliveries; `operator` also reads everything, retries
and replays; `admin` does everything, including managing users. Another user's
resource a caller may not read answers 404; a route its role may not use answers 403.
Lists are newest first with keyset pagination (`limit`, `cursor`, `next_cursor`).
Errors are RFC 9457 `application/problem+json`; a 422 lists `errors` per field.
"""


class OpenApiDocument(BaseModel):
    """This document."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, JsonValue]
    paths: dict[str, JsonValue]


def build_document(
    operations: Sequence[Operation], tags: Mapping[str, str], server_url: str
) -> dict[str, Any]:
    """The OpenAPI document describing ``operations``, served under ``server_url``."""
    refs, components = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "hookgate API", "version": _version(), "description": DESCRIPTION},
        "servers": [{"url": server_url}],
        "tags": [{"name": name, "description": text} for name, text in tags.items()],
        "security": [{SECURITY_SCHEME: []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "hg_…"}
            },
        },
    }


def _version() -> str:
    try:
        return version("hookgate")
    except PackageNotFoundError:
        return "0.0.0"


Refs = Mapping[tuple[type[BaseModel], Mode], Any]


def _schemas(operations: Iterable[Operation]) -> tuple[Refs, dict[str, Any]]:
    """A ``$ref`` per (model, mode), and the component schemas they point to."""
    wanted: dict[tuple[type[BaseModel], Mode], None] = {}
    for operation in operations:
        if operation.body is not None:
            wanted[(operation.body, "validation")] = None
        for model in operation.responses.values():
            if model is not None:
                wanted[(model, "serialization")] = None
    wanted[(Problem, "serialization")] = None
    wanted[(ValidationProblem, "serialization")] = None
    refs, top = models_json_schema(list(wanted), ref_template=REF)
    return {key: refs[key] for key in wanted}, dict(top.get("$defs", {}))


def _operation(operation: Operation, refs: Refs) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": operation.name,
        "summary": operation.summary,
        "description": operation.description,
        "tags": [operation.tag],
        "parameters": _path_parameters(operation.path)
        + _query_parameters(operation.query)
        + _header_parameters(operation),
        "responses": _responses(operation, refs),
    }
    if operation.role is None:
        document["security"] = []
    else:
        document["x-hookgate-role"] = operation.role
    if operation.body is not None:
        document["requestBody"] = {
            "required": operation.body_required,
            "content": {JSON: {"schema": refs[(operation.body, "validation")]}},
        }
    return document


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(path)
    ]


def _header_parameters(operation: Operation) -> list[dict[str, Any]]:
    if not operation.idempotent:
        return []
    return [
        {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": False,
            "description": IDEMPOTENCY_DOC,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        }
    ]


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    if "$defs" in schema:
        raise ValueError(f"{model.__name__}: query parameters must have inline schemas")
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema["properties"].items():
        parameter = {"name": name, "in": "query", "required": name in required}
        described = _without_null(field_schema)
        if "description" in described:
            parameter["description"] = described.pop("description")
        described.pop("title", None)
        parameters.append({**parameter, "schema": described})
    return parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its ``null`` alternative: a query parameter is absent, not null."""
    variants = [v for v in schema.get("anyOf", ()) if v != {"type": "null"}]
    if "anyOf" not in schema or len(variants) != 1:
        return dict(schema)
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**variants[0], **rest}


def _responses(operation: Operation, refs: Refs) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, model in operation.responses.items():
        response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if model is not None:
            response["content"] = {JSON: {"schema": refs[(model, "serialization")]}}
        if status in (201, 202):
            response["headers"] = {"Location": _header("Location", required=status == 201)}
        responses[str(status)] = response
    for status in sorted(_problem_statuses(operation)):
        schema = ValidationProblem if status == 422 else Problem
        problem: dict[str, Any] = {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM: {"schema": refs[(schema, "serialization")]}},
        }
        if status in _PROBLEM_HEADERS:
            problem["headers"] = {
                name: _header(name, required=True) for name in _PROBLEM_HEADERS[status]
            }
        responses[str(status)] = problem
    return responses


def _problem_statuses(operation: Operation) -> set[int]:
    statuses = set(operation.problems) | set(_TRANSPORT_PROBLEMS)
    if operation.role is not None:
        statuses.update(_AUTHENTICATED_PROBLEMS)
    if _PATH_PARAMETER.search(operation.path):
        statuses.add(404)
    if operation.query is not None:
        statuses.add(422)
    if operation.body is not None:
        statuses.update((400, 413, 422))
    if operation.idempotent:
        statuses.update((409, 422))
    return statuses


def _header(name: str, *, required: bool) -> dict[str, Any]:
    return {"description": _HEADER_DOCS[name], "required": required, "schema": {"type": "string"}}
