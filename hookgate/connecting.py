"""Opening storage at start, waiting for a database server that is still starting.

``docker compose up`` starts hookgate next to a PostgreSQL that may not accept
connections yet; rather than exiting, every command retries for up to
``storage.connect_timeout_s`` (backoff 0.5 s doubling to 5 s, a log line per retry).
A SQLite file is not retried: a path that cannot be opened will not fix itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import structlog

from core.config import Config
from storage import Storage, StorageUnavailableError, open_storage
from storage.urls import parse_storage_url

log = structlog.get_logger()
FIRST_RETRY_S = 0.5
LONGEST_RETRY_S = 5.0


@asynccontextmanager
async def connected_storage(config: Config, *, pool_size: int = 10) -> AsyncIterator[Storage]:
    """``config``'s storage for the block, once it answers (see the module docstring).

    ``StorageUnavailableError`` if it still does not answer after the timeout.
    """
    async with AsyncExitStack() as stack:
        yield await _enter_patiently(stack, config, pool_size)


async def wait_for_storage(config: Config) -> None:
    """Return once ``config``'s storage answers (for commands whose storage opens later)."""
    async with connected_storage(config, pool_size=1):
        pass


async def _enter_patiently(stack: AsyncExitStack, config: Config, pool_size: int) -> Storage:
    url = config.storage_url
    patient = parse_storage_url(url).kind != "sqlite"
    deadline = asyncio.get_running_loop().time() + config.storage_connect_timeout_s
    for attempt, delay in enumerate(_delays(), start=1):
        try:
            return await stack.enter_async_context(
                open_storage(
                    url,
                    config.security.secret_key,
                    previous_secret_keys=config.security.previous_secret_keys,
                    pool_size=pool_size,
                )
            )
        except StorageUnavailableError as e:
            remaining = deadline - asyncio.get_running_loop().time()
            if not patient:
                raise
            if remaining <= 0:
                waited = config.storage_connect_timeout_s
                raise StorageUnavailableError(f"no answer within {waited:g} s ({e})") from e
            wait_s = min(delay, remaining)
            log.warning(
                "storage_unreachable",
                url=redacted(url),
                attempt=attempt,
                retry_in_s=round(wait_s, 3),
                error=str(e),
            )
            await asyncio.sleep(wait_s)
    raise AssertionError("unreachable: _delays() never ends")


def _delays() -> Iterator[float]:
    delay = FIRST_RETRY_S
    while True:
        yield delay
        delay = min(delay * 2, LONGEST_RETRY_S)


def redacted(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
