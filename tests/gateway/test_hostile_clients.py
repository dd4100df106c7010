"""What a hostile or broken client sends, byte for byte, against a gateway on a real socket.

Nothing a client sends gets a 5xx, holds a connection open, or puts what it sent
(a signature, a body) into the logs: every answer is problem+json.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import structlog

from gateway import state
from gateway.protocol import ReadBounds
from tests.gateway.conftest import LiveGateway, StartGateway, signed_case
from tests.signing import Case

PROBLEM = "application/problem+json"
# How long a test waits for the gateway's answer before giving up: generous on purpose.
WAIT_S = 30.0
# Planted in what clients send; it must never come back nor reach a log.
MARK = b"SECRETMARK"
SHORT = ReadBounds(headers=1.0, body=1.0, idle=75.0)
sqlite_only = pytest.mark.parametrize("storage_url", ["sqlite"], indirect=True)


@dataclass(frozen=True)
class Answer:
    """An HTTP response as it came off the socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def problem(self) -> dict[str, Any]:
        """The body as a problem document (the content type is checked by the caller)."""
        document: dict[str, Any] = orjson.loads(self.body)
        return document


def parse_answer(raw: bytes) -> Answer:
    """``raw`` (one response) split into status, lower-cased headers and body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body)


async def exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` and read until the gateway closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(WAIT_S):
            return await reader.read()
    finally:
        writer.close()


def raw_request(
    method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> bytes:
    """A request as bytes; ``Connection: close`` so that the answer ends with EOF."""
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: hooks.example.com"]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"Connection: close", b"Content-Length: %d" % len(body)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def signed_request(case: Case, extra: list[tuple[bytes, bytes]] | None = None) -> bytes:
    """``case`` as bytes, with ``extra`` headers added after its own."""
    path = case.request.url.partition("hooks.example.com")[2]
    headers = [(name.encode(), value.encode()) for name, value in case.request.headers.items()]
    return raw_request("POST", path, headers + (extra or []), case.request.body)


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    """Every structlog event logged during the test, with its bound context."""
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as captured:
        yield captured


def request_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The one-per-request log lines."""
    return [line for line in logs if line["event"] == "request"]


async def until_logged(logs: list[dict[str, Any]], event: str) -> None:
    """Wait (bounded) until ``event`` has been logged."""
    async with asyncio.timeout(WAIT_S):
        # Polling: the log list is the gateway's, it has no event to wait on.
        while not any(line["event"] == event for line in logs):  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def until_handling(live: LiveGateway) -> None:
    """Wait (bounded) until the gateway has started handling a request."""
    async with asyncio.timeout(WAIT_S):
        # Polling: aiohttp's request counter has no event to wait on.
        while live.runner.server is None or live.runner.server.requests_count < 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@sqlite_only
@pytest.mark.parametrize("given", [b"\xff", b"caf\xc3\xa9", b"a b", b"x" * 65, b"../etc"])
async def test_request_id_that_is_not_a_token_is_replaced(
    start_gateway: StartGateway, logs: list[dict[str, Any]], given: bytes
) -> None:
    """An ``X-Request-Id`` outside ``[A-Za-z0-9._:-]{1,64}`` gets a fresh id, not a 500."""
    live = await start_gateway()

    answer = parse_answer(
        await exchange(live.port, raw_request("GET", "/healthz", [(b"X-Request-Id", given)]))
    )

    fresh = answer.headers["x-request-id"]
    assert 200 == answer.status
    assert 16 == len(fresh)
    assert set(fresh) <= set("0123456789abcdef")
    assert [fresh] == [line["request_id"] for line in request_lines(logs)]


@sqlite_only
async def test_request_id_that_is_a_token_is_kept(
    start_gateway: StartGateway, logs: list[dict[str, Any]]
) -> None:
    """A well-formed ``X-Request-Id`` comes back and is the one logged."""
    live = await start_gateway()
    given = "trace-1.2:3_A"

    answer = parse_answer(
        await exchange(
            live.port, raw_request("GET", "/healthz", [(b"X-Request-Id", given.encode())])
        )
    )

    assert (200, given) == (answer.status, answer.headers["x-request-id"])
    assert [given] == [line["request_id"] for line in request_lines(logs)]


async def test_body_that_does_not_decode_is_a_400_problem(
    start_gateway: StartGateway, logs: list[dict[str, Any]]
) -> None:
    """A body whose Content-Encoding is a lie is a 400 problem on ingest and on the API."""
    live = await start_gateway()
    _, api_key = await live.app[state.STORAGE].users.create("Ann", "ann@example.com", "admin")
    bearer = (b"Authorization", b"Bearer " + api_key.encode())
    sent = [
        ("/ingest/src-github", b"deflate", []),
        ("/ingest/src-github", b"gzip", []),
        ("/api/v1/subscriptions", b"deflate", [bearer]),
    ]

    answers = []
    for path, coding, headers in sent:
        request = raw_request(
            "POST", path, [*headers, (b"Content-Encoding", coding)], b"not " + MARK
        )
        answers.append(parse_answer(await exchange(live.port, request)))

    expected = [
        (400, PROBLEM, "the body could not be decoded: Content-Encoding deflate"),
        (400, PROBLEM, "the body could not be decoded: Content-Encoding gzip"),
        (400, PROBLEM, "the body could not be decoded: Content-Encoding deflate"),
    ]
    assert expected == [(a.status, a.headers["content-type"], a.problem["detail"]) for a in answers]
    assert [400, 400, 400] == [line["status"] for line in request_lines(logs)]
    assert MARK not in repr(logs).encode()


async def test_api_key_that_is_not_utf8_is_a_401(start_gateway: StartGateway) -> None:
    """``Authorization: Bearer hg_\\xe9`` is an unknown key (401), not an encoding crash."""
    live = await start_gateway()

    answer = parse_answer(
        await exchange(
            live.port,
            raw_request("GET", "/api/v1/users/me", [(b"Authorization", b"Bearer hg_\xe9")]),
        )
    )

    assert (401, PROBLEM) == (answer.status, answer.headers["content-type"])


# What aiohttp's parser refuses before any handler runs; each carries MARK somewhere.
PARSER_REFUSALS = {
    "too many headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-H%d: " % i + MARK + b"\r\n" for i in range(200))
    + b"\r\n",
    "a header over 8190 bytes": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: "
    + MARK * 900
    + b"\r\n\r\n",
    "a bad chunk size": b"POST /ingest/src-stripe HTTP/1.1\r\nHost: x\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n" + MARK + b"\r\n" + MARK + b"\r\n0\r\n\r\n",
    "Content-Length with Transfer-Encoding": b"POST /ingest/src-stripe HTTP/1.1\r\nHost: x\r\n"
    b"Stripe-Signature: t=1,v1=" + MARK + b"\r\nContent-Length: 14\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n" + MARK + b"\r\n0\r\n\r\n",
    "a negative Content-Length": b"POST /ingest/src-stripe HTTP/1.1\r\nHost: x\r\n"
    b"Content-Length: -10\r\n\r\n" + MARK,
    "a garbage request line": MARK + b" \x16\x03 nonsense\r\n\r\n",
    "a raw 0xff byte in the path": b"GET /" + MARK + b"\xff HTTP/1.1\r\nHost: x\r\n\r\n",
}


@sqlite_only
@pytest.mark.parametrize("sent", sorted(PARSER_REFUSALS))
async def test_parser_refusals_are_problems_that_echo_nothing(
    start_gateway: StartGateway,
    logs: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    sent: str,
) -> None:
    """What aiohttp refuses is a 400 problem+json quoting nothing, and one log line that
    holds the status and the error's class only: no traceback, no signature, no body."""
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    live = await start_gateway()

    raw = await exchange(live.port, PARSER_REFUSALS[sent])

    answer = parse_answer(raw)
    assert (400, PROBLEM) == (answer.status, answer.headers["content-type"])
    assert "the request is not valid HTTP/1.1" == answer.problem["detail"]
    assert MARK not in raw
    assert [(400, True)] == [
        (line["status"], isinstance(line["error"], str))
        for line in logs
        if line["event"] == "bad_request"
    ]
    assert MARK not in repr(logs).encode()
    assert [] == [record.getMessage() for record in caplog.records]


@sqlite_only
async def test_client_that_hangs_up_mid_body_is_a_499_not_an_error(
    start_gateway: StartGateway, logs: list[dict[str, Any]]
) -> None:
    """A client gone mid-body is logged at info as ``client_disconnected``, status 499."""
    live = await start_gateway()
    _, writer = await asyncio.open_connection("127.0.0.1", live.port)
    writer.write(
        b"POST /ingest/src-github HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + MARK
    )
    await writer.drain()
    await until_handling(live)
    writer.close()

    await until_logged(logs, "request")

    levels = {line["event"]: line["log_level"] for line in logs}
    assert "info" == levels.get("client_disconnected")
    assert "unhandled_error" not in levels
    assert [499] == [line["status"] for line in request_lines(logs)]


@sqlite_only
async def test_headers_that_stop_arriving_get_a_408_and_the_connection_closes(
    start_gateway: StartGateway,
) -> None:
    """Half a request's headers, then silence: a 408 problem, then the connection closes;
    a connection that sends nothing at all is closed the same way."""
    live = await start_gateway(bounds=SHORT)

    half = parse_answer(await exchange(live.port, b"POST /ingest/src-github HTTP/1.1\r\nHo"))
    silent = parse_answer(await exchange(live.port, b""))

    assert (408, PROBLEM) == (half.status, half.headers["content-type"])
    assert (408, PROBLEM) == (silent.status, silent.headers["content-type"])


@sqlite_only
async def test_request_trickled_a_byte_at_a_time_is_cut_off(start_gateway: StartGateway) -> None:
    """A slowloris client (one byte at a time, forever) loses its connection: the gateway
    does not wait for the end of its headers."""
    live = await start_gateway(bounds=SHORT)
    request = b"POST /ingest/src-github HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 5000 + b"\r\n"
    reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    sent = 0

    async def trickle() -> None:
        nonlocal sent
        for byte in request:
            writer.write(bytes([byte]))
            await writer.drain()
            sent += 1
            await asyncio.sleep(0.01)

    trickling = asyncio.create_task(trickle())
    try:
        async with asyncio.timeout(WAIT_S):
            try:
                received = await reader.read()
            except ConnectionResetError:
                received = b""
    finally:
        trickling.cancel()
        writer.close()

    assert sent < len(request)
    assert received == b"" or 408 == parse_answer(received).status


@sqlite_only
async def test_body_that_stops_arriving_gets_a_408(
    start_gateway: StartGateway, logs: list[dict[str, Any]]
) -> None:
    """Headers, part of the body, then silence: a 408 problem (logged as such), then the
    connection closes."""
    live = await start_gateway(bounds=SHORT)
    partial = b"POST /ingest/src-github HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"

    answer = parse_answer(await exchange(live.port, partial))

    assert (408, PROBLEM) == (answer.status, answer.headers["content-type"])
    assert [408] == [line["status"] for line in request_lines(logs)]


@sqlite_only
async def test_keep_alive_connection_serves_one_request_after_another(
    start_gateway: StartGateway,
) -> None:
    """The read bounds leave a healthy connection alone: two requests, two answers."""
    live = await start_gateway(bounds=SHORT)
    reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    statuses = []
    try:
        for _ in range(2):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            async with asyncio.timeout(WAIT_S):
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(parse_answer(head).headers["content-length"])
                await reader.readexactly(length)
            statuses.append(parse_answer(head).status)
    finally:
        writer.close()

    assert [200, 200] == statuses


async def test_signed_event_with_headers_too_large_to_store_is_a_431(
    start_gateway: StartGateway,
) -> None:
    """Nine 8,000-byte headers (each within aiohttp's limits, 72 kB in all) on a correctly
    signed event: 431, so that the provider does not retry; nothing is stored. The same
    event with ordinary headers is accepted."""
    live = await start_gateway()
    big = [(b"X-Big-%d" % i, b"b" * 8000) for i in range(9)]

    refused = parse_answer(
        await exchange(live.port, signed_request(signed_case("github", int(time.time())), big))
    )
    accepted = parse_answer(
        await exchange(live.port, signed_request(signed_case("github", int(time.time()))))
    )

    assert (431, PROBLEM) == (refused.status, refused.headers["content-type"])
    assert 202 == accepted.status
    assert 1 == len((await live.app[state.STORAGE].events.page()).items)


async def test_signed_event_with_a_header_that_is_not_utf8_is_stored(
    start_gateway: StartGateway,
) -> None:
    """A correctly signed event with a non-UTF-8 header value is stored, the value as
    Latin-1 so that its bytes come back (``tests/gateway/test_ingest_bytes.py``)."""
    live = await start_gateway()
    case = signed_case("github", int(time.time()))

    answer = parse_answer(await exchange(live.port, signed_request(case, [(b"X-Odd", b"\xff")])))

    assert 202 == answer.status
    [event] = (await live.app[state.STORAGE].events.page()).items
    assert (b"\xff", ("x-odd",)) == (event.headers["x-odd"].encode("latin-1"), event.latin1_headers)
