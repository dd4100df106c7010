"""Zoom: ``x-zm-signature: v0=<hex>`` and ``x-zm-request-timestamp: <unix s>``.

Slack's scheme: HMAC-SHA256 of ``v0:{timestamp}:{raw body}``, hex, keyed by the app's
Secret Token.

Options: none.

Tolerance: 300 s by default, both ways. Zoom documents no window and has no Python
SDK; five minutes is what Zoom's sample apps and the community use.

Handshake: a verified ``endpoint.url_validation`` is answered 200
``{"plainToken": p, "encryptedToken": hex(HMAC-SHA256(secret, p))}`` with the secret
that verified the request. Zoom accepts only 200/204, so stored events get 200 too.

Id: None. Zoom sends no event id, and whether ``x-zm-trackingid`` survives a retry is
undocumented; retries resend the same body, which the gateway's body-hash fallback
deduplicates. Type: body ``event`` (``meeting.started``…).
"""

from __future__ import annotations

import orjson

from verifiers.digests import hmac_digest
from verifiers.errors import MissingHeaderError
from verifiers.model import Handshake, Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.schemes import check_v0_signature


def url_validation_answer(document: object, key: bytes) -> Handshake:
    """The 200 JSON answer to ``endpoint.url_validation``, keyed by ``key``."""
    plain_token = field(document, "payload", "plainToken")
    if plain_token is None:
        raise MissingHeaderError("endpoint.url_validation has no plainToken")
    encrypted = hmac_digest("sha256", key, plain_token.encode()).hex()
    body = orjson.dumps({"plainToken": plain_token, "encryptedToken": encrypted})
    return Handshake(status=200, body=body)


class ZoomVerifier:
    """Checks Zoom's ``v0`` signature and answers URL validation."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept a request signed with one of the secret tokens within the window."""
        key = check_v0_signature(
            request,
            self._keys,
            now,
            self._tolerance_s,
            headers=("x-zm-signature", "x-zm-request-timestamp"),
        )
        document = parse_json(request.body)
        event = field(document, "event")
        if event == "endpoint.url_validation":
            return Verified(handshake=url_validation_answer(document, key))
        return Verified(event_type=event)


PRESET = Preset(
    name="zoom",
    build=ZoomVerifier,
    summary="x-zm-signature v0= hex HMAC-SHA256 of v0:{ts}:{body}; 300 s; URL validation",
    default_tolerance_s=300,
    accepted_status=200,
)
