"""Signature header formats that several providers share.

``t=<ts>,v1=<hex>`` over ``{ts}.{body}`` (Stripe, Calendly) and ``v0=<hex>`` with a
timestamp header over ``v0:{ts}:{body}`` (Slack, Zoom), both HMAC-SHA256.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from verifiers.digests import decodable, decode_hex, hmac_digest, matching_key, require_match
from verifiers.errors import MalformedRequestError, UnsupportedVersionError
from verifiers.model import Request
from verifiers.timestamps import check_age, parse_seconds


def split_t_v1(header: str) -> tuple[str, list[str]]:
    """The ``t`` value and the ``v1`` values of a ``t=…,v1=…`` header (other schemes dropped)."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1:
        raise MalformedRequestError("signature header needs exactly one t=")
    if not signatures:
        raise UnsupportedVersionError("signature header has no v1 signature")
    return timestamps[0], signatures


def check_t_v1_signature(
    request: Request,
    header_name: str,
    keys: Iterable[bytes],
    now: float,
    tolerance_s: float | None,
) -> None:
    """Check a ``t=…,v1=…`` header over ``{t}.{body}``, then the age of ``t`` (old only)."""
    header = request.require(header_name)
    timestamp_text, values = split_t_v1(header)
    timestamp = parse_seconds(timestamp_text)
    signed = timestamp_text.encode() + b"." + request.body
    require_match((hmac_digest("sha256", key, signed) for key in keys), decodable(values))
    check_age(timestamp, now, tolerance_s, future_too=False)


def check_v0_signature(
    request: Request,
    keys: Sequence[bytes],
    now: float,
    tolerance_s: float | None,
    *,
    headers: tuple[str, str],
) -> bytes:
    """Check ``v0=<hex>`` over ``v0:{ts}:{body}`` and the age of ``ts`` (both ways).

    ``headers`` names the signature header, then the timestamp header. Returns the key
    that matched, for handshakes that must answer with it.
    """
    signature_header, timestamp_header = headers
    header = request.require(signature_header)
    timestamp_text = request.require(timestamp_header)
    prefix, _, signature = header.partition("=")
    if prefix != "v0":
        raise MalformedRequestError("signature must start with v0=")
    timestamp = parse_seconds(timestamp_text)
    signed = b"v0:" + timestamp_text.encode() + b":" + request.body
    key = matching_key(keys, signed, decode_hex(signature))
    check_age(timestamp, now, tolerance_s, future_too=True)
    return key
