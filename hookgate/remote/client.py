"""The one client of a running hookgate's API, for the remote commands.

Every failure a user can cause is a ``RemoteError`` carrying one line: an unreachable
``--url``, a refused key, a problem's ``detail``. ``follow`` reads ``/stream`` for as
long as the caller wants: once connected, a dropped connection is resumed with
``Last-Event-ID`` after a backoff (1 s doubling to 15 s), so nothing is missed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

FIRST_RETRY_S = 1.0
LONGEST_RETRY_S = 15.0


class RemoteError(Exception):
    """A remote command cannot go on; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One record of ``/stream``: ``kind`` is ``event`` or ``attempt``."""

    id: str | None
    kind: str
    data: dict[str, Any]


class Remote:
    """Calls the API at ``url`` with ``api_key``."""

    def __init__(self, session: aiohttp.ClientSession, url: str, api_key: str) -> None:
        self._session = session
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """``GET /api/v1{path}``; the parsed JSON answer."""
        return await self._call("GET", path, params=_present(params or {}))

    async def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """``POST /api/v1{path}`` with a JSON ``body``; the parsed JSON answer."""
        data = orjson.dumps(dict(body)) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        return await self._call("POST", path, data=data, extra=headers)

    async def _call(
        self, method: str, path: str, *, extra: Mapping[str, str] | None = None, **options: Any
    ) -> Any:
        headers = {**self._headers, **(extra or {})}
        async with self._request(method, path, headers=headers, **options) as response:
            raw = await response.read()
            if response.status >= 400:
                raise _problem(response, raw)
        return orjson.loads(raw) if raw else None

    @asynccontextmanager
    async def _request(
        self, method: str, path: str, **options: Any
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        try:
            async with self._session.request(
                method, f"{self.url}/api/v1{path}", **options
            ) as response:
                yield response
        except aiohttp.ClientConnectorError as e:
            raise RemoteError(f"cannot reach hookgate at {self.url}: {connect_reason(e)}") from e
        except (aiohttp.ClientError, TimeoutError) as e:
            raise RemoteError(f"hookgate at {self.url} broke off: {type(e).__name__}") from e

    async def follow(
        self,
        params: Mapping[str, str | None],
        *,
        on_reconnect: Callable[[str, float], None],
        on_connect: Callable[[], None] | None = None,
    ) -> AsyncIterator[StreamRecord]:
        """The stream's records, for ever; ``on_connect()`` is told of each connection
        made, ``on_reconnect(reason, wait_s)`` of each drop. Failing to connect the first
        time, or a refused key, raises."""
        last_id: str | None = None
        delay = FIRST_RETRY_S
        connected = False
        while True:
            try:
                async for record in self._stream(_present(params), last_id):
                    connected, delay = True, FIRST_RETRY_S
                    last_id = record.id or last_id
                    if record.kind:
                        yield record
                    elif on_connect is not None:
                        on_connect()
                reason = "the stream ended"
            except RemoteError as e:
                if not connected or "API key" in str(e):
                    raise
                reason = str(e)
            on_reconnect(reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, LONGEST_RETRY_S)

    async def _stream(
        self, params: Mapping[str, str], last_id: str | None
    ) -> AsyncIterator[StreamRecord]:
        headers = {**self._headers, "Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
        async with self._request(
            "GET", "/stream", params=params, headers=headers, timeout=timeout
        ) as response:
            if response.status >= 400:
                raise _problem(response, await response.read())
            yield StreamRecord(None, "", {})  # connected
            try:
                async for record in _records(response.content):
                    yield record
            except (aiohttp.ClientError, TimeoutError) as e:
                raise RemoteError(f"the stream from {self.url} broke off") from e


async def _records(content: aiohttp.StreamReader) -> AsyncIterator[StreamRecord]:
    """SSE records as they arrive; an ``id``-only block moves the position (kind "")."""
    fields: dict[str, str] = {}
    async for line in content:
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if text:
            if not text.startswith(":"):
                name, _, value = text.partition(":")
                fields[name] = value.removeprefix(" ")
            continue
        if "id" in fields or "event" in fields:
            data = orjson.loads(fields["data"]) if "data" in fields else {}
            yield StreamRecord(fields.get("id"), fields.get("event", ""), data)
        fields = {}


@asynccontextmanager
async def open_remote(url: str, api_key: str) -> AsyncIterator[Remote]:
    """A client of ``url`` for the block."""
    timeout = aiohttp.ClientTimeout(total=30, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield Remote(session, url, api_key)


def _present(params: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in params.items() if value is not None}


def _problem(response: aiohttp.ClientResponse, raw: bytes) -> RemoteError:
    """The problem's ``detail`` as one line (and what a 401 means)."""
    try:
        detail = str(orjson.loads(raw).get("detail") or response.reason)
    except (orjson.JSONDecodeError, AttributeError):
        detail = f"{response.status} {response.reason} from {response.url}"
    if response.status == 401:
        return RemoteError(f"the API key was refused: {detail}")
    return RemoteError(" ".join(detail.split()))


def connect_reason(error: aiohttp.ClientConnectorError) -> str:
    """Why a connection failed, as a person says it ("connection refused")."""
    cause = error.os_error
    if cause is not None and cause.errno:
        return os.strerror(cause.errno).lower()
    return str(cause or error)
