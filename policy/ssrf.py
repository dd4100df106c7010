"""Which addresses a delivery may reach: the one module that owns the SSRF rule.

A target URL must be ``http`` or ``https``. Its host, written as an address in any
form (``127.0.0.1``, ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``[::ffff:7f00:1]``)
or resolved from a name, must not be loopback, private, link-local, shared/CGNAT
(100.64/10), multicast, reserved, unspecified or documentation space, IPv4 or IPv6;
IPv6 forms that embed an IPv4 address (mapped ``::ffff:a.b.c.d``, compatible
``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by that IPv4
address. ``security.allowed_target_networks`` lets chosen networks through (e.g.
``127.0.0.0/8`` for local testing). Cloud metadata endpoints are refused even then:
no test needs them and no allow-list entry should expose instance credentials.

Two checks, one rule (``refusal``):
- ``check_url`` (pure, no DNS): the scheme, and the host when it is an address
  literal. The API uses it at registration; the relay before every attempt.
- ``relay.resolver.GuardedResolver`` enforces ``refusal`` at connect time on every
  address a host name resolves to, so DNS rebinding fails too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from yarl import URL

from policy.errors import SsrfBlockedError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES: frozenset[Address] = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",  # AWS, GCP, Azure, DigitalOcean, OpenStack …
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)

_REFUSED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "reserved (6to4 relay anycast)"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved (benchmarking)"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "reserved (local-use NAT64)"),
    ("100::/64", "reserved (discard-only)"),
    ("2001::/23", "reserved (IETF protocol assignments)"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "private (unique local)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "private (site-local)"),
    ("ff00::/8", "multicast"),
)
REFUSED_NETWORKS: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(cidr), reason) for cidr, reason in _REFUSED
)
METADATA_REASON = "cloud metadata endpoint"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_LOOPBACK_NAMES = ("localhost", "localhost.")


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked URL: scheme, host and port, and the address if the host is a literal."""

    scheme: str
    host: str
    port: int
    address: Address | None


def refusal(address: Address, allowed: Sequence[Network] = ()) -> str | None:
    """Why ``address`` may not be reached, or None if it may."""
    address = embedded_ipv4(address) or address
    if address in METADATA_ADDRESSES:
        return METADATA_REASON
    if any(address in network for network in allowed):
        return None
    for network, reason in REFUSED_NETWORKS:
        if address in network:
            return reason
    if address.is_reserved or not address.is_global:
        return "not a public address"
    return None


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_address(host: str) -> Address | None:
    """The address ``host`` denotes if it is an address literal, in any form a resolver
    accepts (``inet_aton``: 1 to 4 parts, each decimal, octal ``0…`` or hex ``0x…``),
    else None (a name)."""
    text = host.strip("[]")
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return _inet_aton(text.removesuffix("."))


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    *head, last = values
    if any(value > 255 for value in head) or last >= 256 ** (5 - len(values)):
        return None
    total = last
    for index, value in enumerate(head):
        total += value << (8 * (3 - index))
    return ipaddress.IPv4Address(total)


def _number(part: str) -> int | None:
    if not part.isascii():
        return None
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            return int(lowered[2:] or "0", 16)
        if len(lowered) > 1 and lowered.startswith("0"):
            return int(lowered, 8)
        return int(lowered, 10) if lowered.isdigit() else None
    except ValueError:
        return None


def check_url(url: str, allowed: Sequence[Network] = ()) -> Destination:
    """Check ``url`` without DNS; ``SsrfBlockedError`` says why it is refused.

    A host name passes here and is checked when it is resolved (``GuardedResolver``),
    except ``localhost`` names, which are loopback by definition (RFC 6761).
    """
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as e:
        raise SsrfBlockedError(f"not a valid URL: {e}") from e
    if parsed.scheme not in ("http", "https"):
        raise SsrfBlockedError(f"scheme {parsed.scheme or '(none)'!r} is not http or https")
    host = parsed.raw_host
    if not host or parsed.port is None:
        raise SsrfBlockedError("the URL has no host")
    address = parse_address(host)
    if address is None and (host in _LOOPBACK_NAMES or host.rstrip(".").endswith(".localhost")):
        address = ipaddress.IPv4Address("127.0.0.1")
    if address is not None:
        reason = refusal(address, allowed)
        if reason is not None:
            raise SsrfBlockedError(
                f"{host} is {address} ({reason})", allowable=reason != METADATA_REASON
            )
    return Destination(parsed.scheme, host, parsed.port, address)
