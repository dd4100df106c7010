"""Documents a verifier needs from the provider (SNS signing certificates), fetched here.

Verifiers stay pure: they name the URLs (and refuse any that is not the provider's),
the gateway fetches them once and caches them. Subscription confirmations (SNS
``SubscribeURL``) are a GET after verification.
"""

from __future__ import annotations

import time

import aiohttp
import structlog

from gateway.problems import ProblemError

log = structlog.get_logger()
MAX_DOCUMENT_BYTES = 65_536
TTL_S = 3600.0


class Fetcher:
    """Fetches small documents over HTTPS with a time-bounded cache."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        self._cache: dict[str, tuple[float, bytes]] = {}

    def remember(self, url: str, document: bytes) -> None:
        """Put ``document`` in the cache for ``url`` (also how tests provide AWS's certificate)."""
        self._cache[url] = (time.monotonic() + TTL_S, document)

    async def documents(self, urls: tuple[str, ...]) -> dict[str, bytes]:
        """The content of each URL; a 503 problem if one cannot be fetched now."""
        return {url: await self._document(url) for url in urls}

    async def _document(self, url: str) -> bytes:
        cached = self._cache.get(url)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                if response.status != 200:
                    raise ProblemError(
                        503, "provider certificate unavailable", headers={"Retry-After": "30"}
                    )
                document = await response.content.read(MAX_DOCUMENT_BYTES + 1)
        except (TimeoutError, aiohttp.ClientError) as e:
            log.warning("fetch_failed", url=url, error=type(e).__name__)
            raise ProblemError(
                503, "provider certificate unavailable", headers={"Retry-After": "30"}
            ) from e
        if len(document) > MAX_DOCUMENT_BYTES:
            raise ProblemError(503, "provider certificate too large")
        self.remember(url, document)
        return document

    async def confirm(self, url: str) -> None:
        """GET a subscription confirmation URL; a 502 problem if the provider refuses."""
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                ok = 200 <= response.status < 300
        except (TimeoutError, aiohttp.ClientError) as e:
            log.warning("confirm_failed", error=type(e).__name__)
            raise ProblemError(502, "could not confirm the subscription") from e
        if not ok:
            raise ProblemError(502, "the provider refused the subscription confirmation")
        log.info("subscription_confirmed")
