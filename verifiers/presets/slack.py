"""Slack: ``X-Slack-Signature: v0=<hex>`` and ``X-Slack-Request-Timestamp: <unix s>``.

The signed content is ``v0:{timestamp}:{raw body}``, HMAC-SHA256 with the app's
Signing Secret, hex. Form bodies (slash commands, interactivity) are signed as sent.

Options: none.

Tolerance: 300 s by default, both ways, as slack-sdk checks ``abs(now - ts)``.

Handshake: a verified ``{"type": "url_verification", "challenge": …}`` is answered 200
``{"challenge": …}``. Id: body ``event_id`` (Events API). Type: body ``event.type``,
else body ``type``; both None for form bodies.

The ``v0`` format is shared with Zoom (``verifiers.schemes``).
"""

from __future__ import annotations

import orjson

from verifiers.errors import MissingHeaderError
from verifiers.model import Handshake, Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.schemes import check_v0_signature


class SlackVerifier:
    """Checks Slack's ``v0`` signature and answers ``url_verification``."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept a request signed with one of the secrets within the window."""
        check_v0_signature(
            request,
            self._keys,
            now,
            self._tolerance_s,
            headers=("x-slack-signature", "x-slack-request-timestamp"),
        )
        document = parse_json(request.body)
        if field(document, "type") == "url_verification":
            return Verified(handshake=url_verification_answer(document))
        return Verified(
            event_id=field(document, "event_id"),
            event_type=field(document, "event", "type") or field(document, "type"),
        )


def url_verification_answer(document: object) -> Handshake:
    """The 200 JSON echo of the ``challenge`` Slack sent."""
    challenge = field(document, "challenge")
    if challenge is None:
        raise MissingHeaderError("url_verification has no challenge")
    return Handshake(status=200, body=orjson.dumps({"challenge": challenge}))


PRESET = Preset(
    name="slack",
    build=SlackVerifier,
    summary="X-Slack-Signature v0= hex HMAC-SHA256 of v0:{ts}:{body}; 300 s both ways",
    default_tolerance_s=300,
)
