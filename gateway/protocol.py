"""The HTTP connection: problem+json for what aiohttp answers itself, and read bounds.

aiohttp answers some requests before any middleware sees them. Bytes its parser
refuses (too many headers, a header over 8190 bytes, a bad chunk size, Content-Length
with Transfer-Encoding, a garbage request line) go to ``RequestHandler.handle_error``,
which writes text/plain quoting the input and logs a traceback, input included, on
``aiohttp.server``. And aiohttp waits for a slow client as long as it likes.

The seam is the connection class. aiohttp's ``web.Server`` makes one
``RequestHandler`` per connection; ``GatewayRunner`` (an ``AppRunner``: the app's
startup, handler and cleanup are aiohttp's own) serves through a ``GatewayServer``,
whose connections are ``GatewayConnection``s. Each

- answers ``handle_error`` with problem+json (aiohttp's status, a fixed detail) and
  logs one ``bad_request`` line: the status and the exception's class, nothing sent;
- logs aiohttp's other connection errors as one ``connection_error`` line, no traceback;
- bounds reading (``ReadBounds``): a request's headers must be complete within
  ``headers`` seconds of the connection opening or of the request's first byte, else
  the client gets a 408 and the connection closes; its body must be complete within
  ``body`` seconds of the request starting, else reading it raises a 408
  ``ProblemError`` (answered by the middleware, then the connection closes); an idle
  keep-alive connection closes after ``idle`` seconds.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from gateway.problems import PROBLEM_TYPE, ProblemError, problem_document, problem_response

log = structlog.get_logger()
_DETAILS = {
    400: "the request is not valid HTTP/1.1",
    500: "internal error",
}


@dataclass(frozen=True)
class ReadBounds:
    """How long a client may take, in seconds; the defaults are the production ones."""

    headers: float = 10.0
    body: float = 30.0
    idle: float = 75.0


class GatewayRunner(web.AppRunner):
    """An ``AppRunner`` whose connections are ``GatewayConnection``s bound by ``bounds``."""

    def __init__(self, app: web.Application, *, bounds: ReadBounds, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=bounds.idle, **kwargs)
        self.bounds = bounds

    async def _make_server(self) -> web.Server:
        # aiohttp builds the server (and starts the app); only its connection class changes.
        built = await super()._make_server()
        return GatewayServer(built, self.bounds)


class GatewayServer(web.Server):
    """``built``, with ``GatewayConnection``s and the start of each body reported to them."""

    def __init__(self, built: web.Server, bounds: ReadBounds) -> None:
        self.bounds = bounds
        self._build_request = built.request_factory
        super().__init__(
            built.request_handler,
            request_factory=self._make_gateway_request,
            handler_cancellation=built.handler_cancellation,
            loop=built._loop,
            **built._kwargs,
        )

    def __call__(self) -> RequestHandler:
        return GatewayConnection(self, loop=self._loop, **self._kwargs)

    def _make_gateway_request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> BaseRequest:
        if isinstance(protocol, GatewayConnection):
            protocol.request_started(payload)
        return self._build_request(message, payload, protocol, writer, task)


class GatewayConnection(RequestHandler):
    """One client connection: problem+json errors, structured logs, bounded reads."""

    def __init__(self, manager: GatewayServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.bounds = manager.bounds
        self._awaiting_headers = True
        self._headers_timer: asyncio.TimerHandle | None = None
        self._body: StreamReader | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the headers bound: a silent connection is a slow request too."""
        super().connection_made(transport)
        self._start_headers_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        """Stop both timers."""
        super().connection_lost(exc)
        self._stop_headers_timer()
        self._stop_body_timer()
        self._body = None

    def data_received(self, data: bytes) -> None:
        """Start the headers bound at a request's first byte; stop it once they are parsed."""
        if data and self._awaiting_headers and self._headers_timer is None:
            self._start_headers_timer()
        # aiohttp counts every message its parser completes (refused ones too).
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            self._awaiting_headers = False
            self._stop_headers_timer()
        if self._body is not None and self._body.is_eof():
            self._body_complete()

    def request_started(self, body: StreamReader) -> None:
        """A request is about to be handled: bound the rest of its ``body``."""
        self._stop_body_timer()
        self._body = body
        if body.is_eof():
            self._body_complete()
        else:
            self._body_timer = self._loop.call_later(self.bounds.body, self._body_late)

    async def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        """Answer; after a body that could not be read (late, undecodable), close."""
        self._stop_body_timer()
        unreadable = request.content.exception() is not None
        if unreadable:
            resp.force_close()
        answered = await super().finish_response(request, resp, start_time)
        if unreadable:
            # Not aiohttp's lingering read: it would meet the same error and log it.
            self.force_close()
        return answered

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's own error answer, as problem+json; ``message`` quotes the input: unused."""
        if status >= 500:
            log.error("handler_error", status=status, error=_class_name(exc))
        else:
            log.info("bad_request", status=status, error=_class_name(exc))
        if request.writer.output_size > 0:
            # As aiohttp: an answer is already on its way, the connection is broken.
            raise ConnectionError("an answer was already being sent")
        detail = _DETAILS.get(status, HTTPStatus(status).description)
        response = problem_response(status, detail)
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """aiohttp's other connection errors: the exception's class, never a traceback."""
        exc = kw.get("exc_info")
        if exc is True:
            exc = sys.exc_info()[1]
        log.error("connection_error", error=_class_name(exc))

    def _start_headers_timer(self) -> None:
        self._headers_timer = self._loop.call_later(self.bounds.headers, self._headers_late)

    def _stop_headers_timer(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_complete(self) -> None:
        self._stop_body_timer()
        self._body = None
        self._awaiting_headers = True

    def _headers_late(self) -> None:
        self._headers_timer = None
        log.info("request_timeout", part="headers", bound_s=self.bounds.headers)
        if self.transport is None:
            return
        if self._request_in_progress:
            # A pipelined request's answer is being written: let it finish, then close.
            self.close()
            return
        self.transport.write(_raw_answer(408, "the request headers did not arrive in time"))
        self.force_close()

    def _body_late(self) -> None:
        self._body_timer = None
        if self._body is None:
            return
        log.info("request_timeout", part="body", bound_s=self.bounds.body)
        self._body.set_exception(ProblemError(408, "the request body did not arrive in time"))


def _raw_answer(status: int, detail: str) -> bytes:
    """A whole problem+json response, for when there is no request to answer through."""
    body = problem_document(status, detail)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: {PROBLEM_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def _class_name(exc: object) -> str | None:
    return type(exc).__name__ if isinstance(exc, BaseException) else None
