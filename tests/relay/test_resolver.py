"""The SSRF rule at connect time: the resolver refuses a name with any internal address,
and a refused attempt is recorded as ``ssrf_blocked`` without retries."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from policy.errors import SsrfBlockedError
from relay.resolver import GuardedResolver
from storage import Storage
from tests.relay.conftest import Receiver, open_harness, relay_config

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


class FixedResolver(AbstractResolver):
    """Answers every name with fixed addresses (a DNS-rebinding attacker's zone)."""

    def __init__(self, *addresses: str) -> None:
        self._addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The fixed addresses."""
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self._addresses
        ]

    async def close(self) -> None:
        """Nothing to close."""


@pytest.mark.parametrize(
    "addresses", [("10.0.0.5",), ("93.184.215.14", "127.0.0.1"), ("::ffff:10.0.0.1",)]
)
async def test_resolver_refuses_a_name_with_any_internal_address(addresses: tuple[str]) -> None:
    """A name resolving to an internal address, even among public ones, is refused."""
    with pytest.raises(SsrfBlockedError):
        await GuardedResolver(FixedResolver(*addresses)).resolve("rebind.example", 80)


async def test_resolver_passes_public_and_allowed_addresses() -> None:
    """Public answers pass; localhost passes when 127/8 is allowed."""
    assert ["93.184.215.14"] == [
        r["host"] for r in await GuardedResolver(FixedResolver("93.184.215.14")).resolve("x.io")
    ]
    resolved = await GuardedResolver(ThreadedResolver(), LOOPBACK).resolve("localhost", 80)
    assert all(r["host"] == "127.0.0.1" for r in resolved)


def internal_name() -> str:
    """This machine's host name, which resolves to a loopback or private address."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if any(ipaddress.ip_address(info[4][0]).is_global for info in infos):
        pytest.skip(f"{name} resolves to a public address here")
    return name


async def test_refused_target_fails_once_as_ssrf_blocked(
    storage: Storage, storage_url: str, receiver: Receiver
) -> None:
    """With no allowed networks, a delivery to 127.0.0.1 or to a name resolving to an
    internal address is refused before connecting: one ssrf_blocked attempt, failed,
    never retried."""
    async with open_harness(storage, relay_config(storage_url, allowed=())) as harness:
        literal, _ = await harness.subscribe(receiver.url("literal"))
        named, _ = await harness.subscribe(
            receiver.url("named").replace("127.0.0.1", internal_name())
        )
        await harness.enqueue([await harness.event()])
        await harness.drive(harness.finished)
        deliveries = {d.subscription_id: d for d in await harness.deliveries()}
        literal_attempts = await harness.storage.attempts.for_delivery(deliveries[literal.id].id)
        named_attempts = await harness.storage.attempts.for_delivery(deliveries[named.id].id)

    assert [] == receiver.hits
    for delivery in deliveries.values():
        assert ("failed", 1) == (delivery.status, delivery.attempt_count)
    assert ["ssrf_blocked", "ssrf_blocked"] == [a.error for a in literal_attempts + named_attempts]
    assert "resolves to" in (named_attempts[0].error_detail or "")
