"""Paddle Billing: ``Paddle-Signature: ts=<unix s>;h1=<hex>[;h1=<hex>…]``.

The signed content is ``{ts}:{raw body}``, HMAC-SHA256, hex, keyed by the notification
destination's secret exactly as shown (``pdl_ntfset_…``). Every ``h1`` is tried against
every secret (Paddle sends several while a secret is rotated). As in paddle-python-sdk,
parts without ``=`` are skipped and a key other than ``ts``/``h1`` is refused.

Options: none.

Tolerance: 5 s by default (Paddle's documented window), both ways, as
paddle-python-sdk 1.16's ``Verifier(maximum_variance=5)`` checks it.

Id and type: body ``event_id`` (``evt_…``) and ``event_type``
(``transaction.completed``…).
"""

from __future__ import annotations

from verifiers.digests import decodable, hmac_digest, require_match
from verifiers.errors import MalformedRequestError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.timestamps import check_age, parse_seconds


def split_ts_h1(header: str) -> tuple[str, list[str]]:
    """The ``ts`` value and every ``h1`` value of a ``Paddle-Signature`` header."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(";"):
        key, separator, value = item.strip().partition("=")
        if not separator:
            continue
        if key == "ts":
            timestamps.append(value)
        elif key == "h1":
            signatures.append(value)
        else:
            raise MalformedRequestError("unrecognised Paddle-Signature key")
    if len(timestamps) != 1:
        raise MalformedRequestError("Paddle-Signature needs exactly one ts=")
    if not signatures:
        raise MalformedRequestError("Paddle-Signature has no h1 signature")
    return timestamps[0], signatures


class PaddleVerifier:
    """Checks Paddle Billing's timestamped hex HMAC."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if an ``h1`` matches a secret and ``ts`` is within the window."""
        header = request.require("paddle-signature")
        timestamp_text, values = split_ts_h1(header)
        timestamp = parse_seconds(timestamp_text)
        signed = timestamp_text.encode() + b":" + request.body
        require_match((hmac_digest("sha256", key, signed) for key in self._keys), decodable(values))
        check_age(timestamp, now, self._tolerance_s, future_too=True)
        document = parse_json(request.body)
        return Verified(
            event_id=field(document, "event_id"), event_type=field(document, "event_type")
        )


PRESET = Preset(
    name="paddle",
    build=PaddleVerifier,
    summary="Paddle-Signature ts=…;h1=… hex HMAC-SHA256 of {ts}:{body}; 5 s both ways",
    default_tolerance_s=5,
)
