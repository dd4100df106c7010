"""Razorpay: ``X-Razorpay-Signature: <hex HMAC-SHA256(webhook secret, raw body)>``.

The key is the webhook secret set in the dashboard, not the API key secret. The body's
trailing newline is part of the signed bytes.

Options: none.

No signed timestamp, so no tolerance: replays are stopped by deduplication.

Id: the ``x-razorpay-event-id`` header (Razorpay's idempotency key). Type: body
``event`` (``payment.captured``…).
"""

from __future__ import annotations

from verifiers.digests import decode_hex, hmac_digest, require_match
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json


class RazorpayVerifier:
    """Checks Razorpay's hex HMAC over the raw body."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its HMAC matches one of the webhook secrets."""
        header = request.require("x-razorpay-signature")
        require_match(
            (hmac_digest("sha256", key, request.body) for key in self._keys),
            [decode_hex(header.strip())],
        )
        return Verified(
            event_id=request.header("x-razorpay-event-id"),
            event_type=field(parse_json(request.body), "event"),
        )


PRESET = Preset(
    name="razorpay",
    build=RazorpayVerifier,
    summary="X-Razorpay-Signature hex HMAC-SHA256 of the body",
)
