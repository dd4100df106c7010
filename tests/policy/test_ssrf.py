"""The SSRF rule: a table of refused URLs in every spelling, what is allowed, and how
address literals parse."""

from __future__ import annotations

import ipaddress

import pytest

from policy.errors import SsrfBlockedError
from policy.ssrf import check_url, parse_address

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)

REFUSED = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://017700000001/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://0x7f000001/",
    "http://127.0.0.1.:8080/",
    "http://localhost:8080/",
    "http://api.localhost/",
    "http://0.0.0.0/",
    "http://0/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.1/",
    "http://100.100.100.200/",
    "http://192.0.0.192/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.10/",
    "http://198.18.0.1/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::10.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[fd00:ec2::254]/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://[2001:db8::1]/",
    "http://[2001::1]/",
    "ftp://93.184.215.14/",
    "file:///etc/passwd",
    "gopher://example.com/",
    "http:///nohost",
]


@pytest.mark.parametrize("url", REFUSED)
def test_refused_addresses(url: str) -> None:
    """Every internal address, however written, is refused without DNS."""
    with pytest.raises(SsrfBlockedError):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks",
        "http://93.184.215.14:8080/x",
        "https://[2606:4700::1111]/",
        "http://8.8.8.8/",
        "https://hooks.internal.example.com/",
    ],
)
def test_public_addresses_and_names_pass(url: str) -> None:
    """Public literals pass; names pass the pure check (they are checked on resolution)."""
    assert check_url(url).scheme in ("http", "https")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/", "http://2130706433/", "http://[::ffff:127.0.0.1]/"]
)
def test_allowed_networks_let_chosen_addresses_through(url: str) -> None:
    """security.allowed_target_networks: 127.0.0.0/8 opens loopback, in every spelling."""
    assert check_url(url, LOOPBACK).address is not None


def test_metadata_is_refused_even_inside_allowed_networks() -> None:
    """Allowing link-local does not expose the cloud metadata endpoint."""
    link_local = (ipaddress.ip_network("169.254.0.0/16"),)
    assert check_url("http://169.254.1.1/", link_local).address is not None
    with pytest.raises(SsrfBlockedError, match="metadata"):
        check_url("http://169.254.169.254/", link_local)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0300.0250.1.1", "192.168.1.1"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("08.1.1.1", None),
    ],
)
def test_address_literals_parse_like_inet_aton(host: str, expected: str | None) -> None:
    """Hosts a resolver would read as addresses are read the same way here."""
    parsed = parse_address(host)
    assert expected == (None if parsed is None else str(parsed))
