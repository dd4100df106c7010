"""Typeform: ``Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>``.

Base64, not hex, despite the GitHub-like ``sha256=`` prefix.

Options: none.

No signed timestamp, so no tolerance: replays are stopped by deduplication.

Id and type: body ``event_id`` and ``event_type`` (``form_response``).
"""

from __future__ import annotations

from verifiers.digests import decode_base64, hmac_digest, require_match
from verifiers.errors import MalformedRequestError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json


class TypeformVerifier:
    """Checks Typeform's base64 HMAC over the raw body."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its HMAC matches one of the secrets."""
        header = request.require("typeform-signature")
        prefix, _, signature = header.partition("=")
        if prefix != "sha256":
            raise MalformedRequestError("signature must start with sha256=")
        require_match(
            (hmac_digest("sha256", key, request.body) for key in self._keys),
            [decode_base64(signature)],
        )
        document = parse_json(request.body)
        return Verified(
            event_id=field(document, "event_id"), event_type=field(document, "event_type")
        )


PRESET = Preset(
    name="typeform",
    build=TypeformVerifier,
    summary="Typeform-Signature sha256= base64 HMAC-SHA256 of the body",
)
