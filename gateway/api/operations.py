"""Operations: each route declared once, and the one path every API request takes.

An ``Operation`` names its method, path, minimum role, query and body models and
responses. ``create_api`` registers it with the router and ``openapi`` describes it
from the same declaration, so the document and the validation cannot drift.

``endpoint(operation)`` is the aiohttp handler of an operation. In order: the key is
authenticated (401), the key's rate limit taken (429), the role checked (403), the
query and body validated (400/422), then the operation's handler runs and its reply
is rendered with orjson. Storage's domain errors are mapped here, once, to
``ProblemError`` (404, 409, 422), which the gateway's one problem middleware renders.
A POST that carries an ``Idempotency-Key`` runs its handler once per key
(``gateway.api.idempotency``): a repeat answers the first response again.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel

from core.config import Config
from core.queue import Queue
from gateway import state
from gateway.api.access import require_role
from gateway.api.auth import authenticate, bearer_key, take_token
from gateway.api.idempotency import idempotency_key, once
from gateway.api.inputs import Location, field_problem, invalid, parse_body, parse_query
from gateway.problems import ProblemError
from storage import ConflictError, InvalidFieldError, NotFoundError, Storage
from storage.records import Role, User

log = structlog.get_logger()
M = TypeVar("M", bound=BaseModel)
JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    """What a handler answers: a status, a model (or pre-rendered JSON), headers; or
    ``stream``, a response the handler has already sent (``/stream``)."""

    status: int
    body: BaseModel | bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: web.StreamResponse | None = None


@dataclass(frozen=True)
class Call:
    """One validated request, as a handler sees it."""

    request: web.Request
    caller: User | None
    body: BaseModel | None = None
    query: BaseModel | None = None

    @property
    def user(self) -> User:
        """The authenticated caller (every operation but the public ones has one)."""
        if self.caller is None:
            raise ProblemError(401, "an API key is required")
        return self.caller

    @property
    def storage(self) -> Storage:
        """The gateway's storage."""
        return self.request.config_dict[state.STORAGE]

    @property
    def queue(self) -> Queue:
        """The queue client: hands work to the relay."""
        return self.request.config_dict[state.QUEUE]

    @property
    def config(self) -> Config:
        """The gateway's configuration."""
        return self.request.config_dict[state.CONFIG]

    def path(self, name: str) -> str:
        """The path parameter ``name``."""
        return self.request.match_info[name]

    def body_as(self, model: type[M]) -> M:
        """The validated body, which the operation declared as ``model``."""
        if not isinstance(self.body, model):
            raise TypeError(f"the operation does not declare a {model.__name__} body")
        return self.body

    def query_as(self, model: type[M]) -> M:
        """The validated query string, which the operation declared as ``model``."""
        if not isinstance(self.query, model):
            raise TypeError(f"the operation does not declare {model.__name__} parameters")
        return self.query

    def location(self, route: str, **parts: str) -> str:
        """The URL path of route ``route`` (an operation's name) with ``parts``."""
        return str(self.request.app.router[route].url_for(**parts))


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True)
class Operation:
    """One route of the API, as served and as documented.

    ``role`` is the least role that may call it (None: no key needed). ``responses``
    maps each success status to its model (None: no body). ``problems`` lists error
    statuses specific to this operation; the ones every operation may answer are added
    by the OpenAPI generator.
    """

    method: str
    path: str
    name: str
    summary: str
    tag: str
    handler: Handler
    responses: Mapping[int, type[BaseModel] | None]
    role: Role | None = "member"
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True
    problems: tuple[int, ...] = ()

    @property
    def idempotent(self) -> bool:
        """Whether it takes an ``Idempotency-Key`` (the POST routes that need a key)."""
        return self.method == "POST" and self.role is not None

    @property
    def description(self) -> str:
        """The handler's docstring: what the operation does."""
        return inspect.cleandoc(self.handler.__doc__ or self.summary).replace("``", "`")


Responses = Mapping[int, type[BaseModel] | None]


class Routes:
    """Builds the operations of one resource (``tag``), named after their handlers."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def get(
        self, path: str, handler: Handler, summary: str, responses: Responses, **options: Any
    ) -> Operation:
        """A GET operation; ``options`` are ``Operation``'s keyword fields."""
        return self._operation("GET", path, handler, summary, responses=responses, options=options)

    def post(
        self, path: str, handler: Handler, summary: str, responses: Responses, **options: Any
    ) -> Operation:
        """A POST operation."""
        return self._operation("POST", path, handler, summary, responses=responses, options=options)

    def put(
        self, path: str, handler: Handler, summary: str, responses: Responses, **options: Any
    ) -> Operation:
        """A PUT operation."""
        return self._operation("PUT", path, handler, summary, responses=responses, options=options)

    def patch(
        self, path: str, handler: Handler, summary: str, responses: Responses, **options: Any
    ) -> Operation:
        """A PATCH operation."""
        return self._operation(
            "PATCH", path, handler, summary, responses=responses, options=options
        )

    def delete(
        self, path: str, handler: Handler, summary: str, responses: Responses, **options: Any
    ) -> Operation:
        """A DELETE operation."""
        return self._operation(
            "DELETE", path, handler, summary, responses=responses, options=options
        )

    def _operation(
        self,
        method: str,
        path: str,
        handler: Handler,
        summary: str,
        *,
        responses: Responses,
        options: dict[str, Any],
    ) -> Operation:
        return Operation(
            method, path, handler.__name__, summary, self.tag, handler, responses, **options
        )


def endpoint(operation: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler serving ``operation``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        caller = None
        if operation.role is not None:
            api_key = bearer_key(request)
            caller = await authenticate(request, api_key)
            take_token(request, api_key)
            require_role(caller, operation.role)
        query = None if operation.query is None else parse_query(request, operation.query)
        body = None
        if operation.body is not None:
            body = await parse_body(request, operation.body, required=operation.body_required)
        call = Call(request, caller, body, query)
        key = idempotency_key(request) if operation.idempotent else None
        if key is None:
            return await respond(operation, call)
        return await once(request, call.user, key, lambda: respond(operation, call))

    handle.__name__ = operation.name
    return handle


async def respond(operation: Operation, call: Call) -> web.StreamResponse:
    """Run the operation's handler and render its reply."""
    with storage_problems():
        reply = await operation.handler(call)
    return render(reply)


@contextmanager
def storage_problems() -> Iterator[None]:
    """Map storage's domain errors to problems (unavailability is the middleware's)."""
    try:
        yield
    except NotFoundError as e:
        raise ProblemError(404, str(e)) from e
    except ConflictError as e:
        raise ProblemError(409, str(e)) from e
    except InvalidFieldError as e:
        where: Location = "query" if e.field == "cursor" else "body"
        raise invalid([field_problem(where, e.field, e.message)]) from e


def page_json(rows: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """A list page, ``{"data": rows, "next_cursor": …}``, rendered straight from the rows
    of a ``Resource`` (``row()`` is exactly what its model dumps: the tests check it)."""
    return orjson.dumps({"data": rows, "next_cursor": next_cursor}, option=orjson.OPT_UTC_Z)


def render(reply: Reply) -> web.StreamResponse:
    """``reply`` as an HTTP response, JSON by orjson (times RFC 3339 in UTC)."""
    if reply.stream is not None:
        return reply.stream
    if reply.body is None:
        return web.Response(status=reply.status, headers=reply.headers)
    if isinstance(reply.body, bytes):
        body = reply.body
    else:
        body = orjson.dumps(reply.body.model_dump(), option=orjson.OPT_UTC_Z)
    return web.Response(status=reply.status, body=body, content_type=JSON, headers=reply.headers)
