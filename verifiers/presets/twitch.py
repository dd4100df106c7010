"""Twitch EventSub (webhook transport).

``Twitch-Eventsub-Message-Signature: sha256=<hex>`` is HMAC-SHA256 of
``{message id}{message timestamp}{raw body}`` (no separators), keyed by the secret
chosen when subscribing. The timestamp header is RFC 3339 with nanoseconds.

Options: none.

Tolerance: 600 s by default and one-sided, as Twitch asks: a message older than ten
minutes is refused.

Handshake: a verified ``webhook_callback_verification`` is answered 200 ``text/plain``
with the raw ``challenge``. Id: ``Twitch-Eventsub-Message-Id`` (the same on a resend).
Type: ``Twitch-Eventsub-Subscription-Type`` for a ``notification`` (``channel.follow``…);
for any other message (``revocation``) the message type itself, so a revocation is
never routed as if it were an event.
"""

from __future__ import annotations

import re
from datetime import datetime

from verifiers.digests import decode_hex, hmac_digest, require_match
from verifiers.errors import MalformedRequestError, MissingHeaderError
from verifiers.model import Handshake, Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.timestamps import check_age

RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})",
    re.ASCII | re.IGNORECASE,
)


def rfc3339_seconds(value: str) -> float:
    """An RFC 3339 timestamp (any number of fraction digits) as unix seconds."""
    match = RFC3339.fullmatch(value.strip())
    if match is None:
        raise MalformedRequestError("timestamp is not RFC 3339")
    whole, fraction, offset = match.groups()
    # datetime keeps microseconds only; Twitch sends nanoseconds.
    micros = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if offset.upper() == "Z" else offset
    try:
        return datetime.fromisoformat(f"{whole.upper()}.{micros}{zone}").timestamp()
    except (ValueError, OverflowError) as e:
        raise MalformedRequestError("timestamp is not a valid date") from e


def challenge_answer(document: object) -> Handshake:
    """The 200 ``text/plain`` echo of the ``challenge`` Twitch sent."""
    challenge = field(document, "challenge")
    if challenge is None:
        raise MissingHeaderError("webhook_callback_verification has no challenge")
    return Handshake(status=200, body=challenge.encode(), content_type="text/plain")


class TwitchVerifier:
    """Checks Twitch EventSub's signature and answers the callback verification."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept a message signed with one of the secrets and not too old."""
        header = request.require("twitch-eventsub-message-signature")
        message_id = request.require("twitch-eventsub-message-id")
        timestamp_text = request.require("twitch-eventsub-message-timestamp")
        message_type = request.require("twitch-eventsub-message-type")
        prefix, _, signature = header.partition("=")
        if prefix != "sha256":
            raise MalformedRequestError("signature must start with sha256=")
        if not message_id.isascii():
            raise MalformedRequestError("message id is not ASCII")
        timestamp = rfc3339_seconds(timestamp_text)
        signed = message_id.encode() + timestamp_text.encode() + request.body
        require_match(
            (hmac_digest("sha256", key, signed) for key in self._keys),
            [decode_hex(signature)],
        )
        check_age(timestamp, now, self._tolerance_s, future_too=False)
        if message_type == "webhook_callback_verification":
            return Verified(handshake=challenge_answer(parse_json(request.body)))
        event_type = (
            request.header("twitch-eventsub-subscription-type")
            if message_type == "notification"
            else message_type
        )
        return Verified(event_id=message_id, event_type=event_type)


PRESET = Preset(
    name="twitch",
    build=TwitchVerifier,
    summary="Twitch-Eventsub-Message-Signature sha256= hex HMAC-SHA256 of id+ts+body; 600 s",
    default_tolerance_s=600,
)
