"""The SSRF rule enforced at connect time: an aiohttp resolver that refuses a name if
*any* address it resolves to is refused (``policy.ssrf.refusal``).

aiohttp connects to the addresses this resolver returned, so there is no window
between the check and the connection for DNS rebinding. aiohttp does not ask the
resolver about literal hosts, hence ``policy.ssrf.check_url`` before every attempt.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

from aiohttp.abc import AbstractResolver, ResolveResult

from policy.errors import SsrfBlockedError
from policy.ssrf import Network, refusal


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` and refuses a name if any of its addresses is refused."""

    def __init__(self, inner: AbstractResolver, allowed: Sequence[Network] = ()) -> None:
        self._inner = inner
        self._allowed = tuple(allowed)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The addresses of ``host``, all of them allowed; ``SsrfBlockedError`` if not."""
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"].partition("%")[0])
            reason = refusal(address, self._allowed)
            if reason is not None:
                raise SsrfBlockedError(f"{host} resolves to {address} ({reason})")
        return results

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()
