"""Sending one attempt over HTTP: a shared session, a bounded read, errors classified.

One ``aiohttp.ClientSession`` per worker. Its connector allows ``connections`` sockets
in total and no per-host cap (per-subscription limits are the relay's, and the relay
never starts more attempts than sockets, so no attempt's timeout is spent queueing
inside aiohttp); names resolve through ``GuardedResolver``, so only checked addresses
are cached and connected to. No proxy from the environment, no cookie jar (one
receiver's cookies must never reach another), and redirects are not followed: a 3xx
is a failed ``http_status`` attempt. The per-attempt timeout covers connecting,
sending and reading the first 4 KiB of the answer.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import aiohttp
from aiohttp.resolver import ThreadedResolver

from core.clock import Clock, now_us
from policy.errors import SsrfBlockedError
from policy.redaction import recorded_headers
from policy.ssrf import Network, check_url
from relay.outbound import OutboundRequest
from relay.resolver import GuardedResolver
from storage.attempts import RESPONSE_BODY_LIMIT
from storage.records import ErrorKind, Outcome, error_detail


@asynccontextmanager
async def open_session(
    allowed: Sequence[Network], *, connections: int
) -> AsyncIterator[aiohttp.ClientSession]:
    """The worker's HTTP client for the duration of the block."""
    connector = aiohttp.TCPConnector(
        limit=connections,
        limit_per_host=0,
        resolver=GuardedResolver(ThreadedResolver(), allowed),
        ttl_dns_cache=30,
        enable_cleanup_closed=True,
    )
    async with aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        raise_for_status=False,
    ) as session:
        yield session


class Sender:
    """POSTs outbound requests, after the SSRF check, and reports what happened."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        allowed: Sequence[Network],
        timeout_s: float,
        clock: Clock = now_us,
    ) -> None:
        self._session = session
        self._allowed = tuple(allowed)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock

    async def send(self, request: OutboundRequest) -> Outcome:
        """Send ``request`` once; never raises for anything the receiver or network does."""
        started_at, clock = self._clock(), time.perf_counter()
        stored = recorded_headers(request.headers)
        try:
            check_url(request.url, self._allowed)
            async with self._session.post(
                request.url,
                data=request.body,
                headers=dict(request.headers),
                allow_redirects=False,
                timeout=self._timeout,
            ) as response:
                body = await _read_head(response, RESPONSE_BODY_LIMIT)
                status, headers = response.status, _headers(response.headers)
                reason = response.reason or ""
        except (SsrfBlockedError, TimeoutError, aiohttp.ClientError, OSError) as e:
            return Outcome(
                started_at=started_at,
                duration_ms=(time.perf_counter() - clock) * 1000,
                request_headers=stored,
                error=_kind(e),
                error_detail=error_detail(e),
            )
        ok = 200 <= status < 300
        return Outcome(
            started_at=started_at,
            duration_ms=(time.perf_counter() - clock) * 1000,
            request_headers=stored,
            response_status=status,
            response_headers=headers,
            response_body=body,
            error=None if ok else "http_status",
            error_detail=None if ok else _status_detail(status, reason, headers),
        )


def _kind(error: BaseException) -> ErrorKind:
    if isinstance(error, SsrfBlockedError):
        return "ssrf_blocked"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, aiohttp.ClientSSLError | ssl.SSLError):
        return "tls"
    return "connect"


async def _read_head(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body; a longer body's connection is not reused."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if not response.content.at_eof():
        response.close()
    return b"".join(chunks)


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-case names; repeated headers joined with ", "."""
    joined: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def _status_detail(status: int, reason: str, headers: Mapping[str, str]) -> str:
    detail = f"HTTP {status} {reason}".strip()
    if 300 <= status < 400:
        detail += f"; redirect to {headers.get('location', '?')!r} not followed"
    return detail
