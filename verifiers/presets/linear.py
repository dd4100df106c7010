"""Linear: ``Linear-Signature: <hex HMAC-SHA256(secret, raw body)>``.

The timestamp is inside the signed body: ``webhookTimestamp``, unix **milliseconds**.
It is read only after the signature matched, so it cannot have been altered.

Options: none.

Tolerance: 60 s by default, both ways, as the official ``@linear/sdk`` checks
``abs(now_ms - webhookTimestamp)``.

Id: the ``Linear-Delivery`` header (a UUID). Type: the ``Linear-Event`` header (the
entity, ``Issue``…), else body ``type``.
"""

from __future__ import annotations

from typing import Any

from verifiers.digests import decode_hex, hmac_digest, require_match
from verifiers.errors import MalformedRequestError, MissingHeaderError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.timestamps import check_age

# Far past any real clock (year 2286) yet small enough to divide into a float exactly.
MAX_TIMESTAMP_MS = 10**13


def timestamp_seconds(document: Any) -> float:
    """Body ``webhookTimestamp`` (ms) in seconds, or a typed error."""
    if not isinstance(document, dict):
        raise MalformedRequestError("body is not a JSON object")
    value = document.get("webhookTimestamp")
    if value is None:
        raise MissingHeaderError("body has no webhookTimestamp")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_TIMESTAMP_MS:
        raise MalformedRequestError("webhookTimestamp is not a millisecond timestamp")
    return value / 1000


class LinearVerifier:
    """Checks Linear's hex HMAC over the raw body and its signed timestamp."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept a request signed with one of the secrets whose timestamp is recent."""
        header = request.require("linear-signature")
        require_match(
            (hmac_digest("sha256", key, request.body) for key in self._keys),
            [decode_hex(header.strip())],
        )
        document = parse_json(request.body)
        check_age(timestamp_seconds(document), now, self._tolerance_s, future_too=True)
        return Verified(
            event_id=request.header("linear-delivery"),
            event_type=request.header("linear-event") or field(document, "type"),
        )


PRESET = Preset(
    name="linear",
    build=LinearVerifier,
    summary="Linear-Signature hex HMAC-SHA256 of the body; body webhookTimestamp (ms) ±60 s",
    default_tolerance_s=60,
)
