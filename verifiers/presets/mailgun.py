"""Mailgun: an HMAC carried inside the JSON body, not in a header.

The body is ``{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}``;
``signature.signature`` is the hex HMAC-SHA256 of ``{timestamp}{token}`` keyed by the
HTTP webhook signing key (the secret, used as text). The event data itself is not
signed: the gateway's dedupe on ``event-data.id`` and the timestamp window are what
stop a signature block being reused.

Options: none.

Tolerance: 300 s both ways (Mailgun's docs; the SDK compares ``abs(now - ts)``).
Id: ``event-data.id``. Type: ``event-data.event`` (``delivered``, ``failed``, …).
"""

from __future__ import annotations

from verifiers.digests import decode_hex, hmac_digest, require_match
from verifiers.errors import MalformedRequestError, MissingHeaderError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.timestamps import check_age, parse_seconds


class MailgunVerifier:
    """Checks the hex HMAC of ``timestamp + token`` found in the body."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its body's signature matches one of the signing keys."""
        document = parse_json(request.body)
        if not isinstance(document, dict):
            raise MalformedRequestError("body is not a JSON object")
        timestamp = field(document, "signature", "timestamp")
        token = field(document, "signature", "token")
        signature = field(document, "signature", "signature")
        if timestamp is None or token is None or signature is None:
            raise MissingHeaderError("signature.timestamp, .token or .signature is missing")
        sent_at = parse_seconds(timestamp)
        signed = f"{timestamp}{token}".encode("utf-8", "surrogatepass")
        require_match(
            (hmac_digest("sha256", key, signed) for key in self._keys), [decode_hex(signature)]
        )
        check_age(sent_at, now, self._tolerance_s, future_too=True)
        return Verified(
            event_id=field(document, "event-data", "id"),
            event_type=field(document, "event-data", "event"),
        )


PRESET = Preset(
    name="mailgun",
    build=MailgunVerifier,
    summary="hex HMAC-SHA256 of signature.timestamp+token inside the JSON body",
    default_tolerance_s=300,
)
