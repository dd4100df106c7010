"""Discord interactions and webhook events: Ed25519 over ``{timestamp}{raw body}``.

Headers: ``X-Signature-Ed25519`` (hex signature) and ``X-Signature-Timestamp``; the
signed message is the timestamp text followed directly by the body. Secrets: the
application's public key(s) from the Developer Portal, hex (32 bytes).

Handshakes (answered only after the signature checks out):
    interaction PING (``type: 1``)        -> 200 ``{"type":1}`` (PONG)
    webhook-events PING (``type: 0``)     -> 204, empty body

Options: none.

Tolerance: none by default (Discord documents none and its SDK checks none); a
source's ``tolerance_s`` turns on a both-ways check of the timestamp (unix seconds).
Id: interaction ``id``; webhook events carry none. Type: interaction ``type`` (a
number), webhook events ``event.type`` (e.g. ``APPLICATION_AUTHORIZED``). Stored
webhook events are acknowledged with 204, as Discord asks.
"""

from __future__ import annotations

from typing import Any

from verifiers.digests import decode_hex
from verifiers.errors import MissingHeaderError, VerifierConfigError
from verifiers.model import Handshake, Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.public_keys import Ed25519Key, require_valid
from verifiers.timestamps import check_age, parse_seconds

INTERACTION_PING = 1
WEBHOOK_EVENT_PING = 0
PONG = Handshake(status=200, body=b'{"type":1}')
WEBHOOK_PING_ACK = Handshake(status=204)


def public_key(secret: str) -> Ed25519Key:
    """The Ed25519 key in a hex secret; ``VerifierConfigError`` otherwise."""
    try:
        raw = bytes.fromhex(secret)
    except ValueError as e:
        raise VerifierConfigError("secrets", "a Discord public key must be hex") from e
    return Ed25519Key.from_raw(raw)


def _integer(document: Any, name: str) -> int | None:
    value = document.get(name) if isinstance(document, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def describe(document: Any) -> Verified:
    """The handshake to answer, or the id and type to store, for a verified body."""
    kind = _integer(document, "type")
    if isinstance(document, dict) and ("event" in document or kind == WEBHOOK_EVENT_PING):
        if kind == WEBHOOK_EVENT_PING:
            return Verified(handshake=WEBHOOK_PING_ACK)
        return Verified(event_type=field(document, "event", "type"))
    if kind == INTERACTION_PING:
        return Verified(handshake=PONG)
    return Verified(event_id=field(document, "id"), event_type=field(document, "type"))


class DiscordVerifier:
    """Checks Discord's Ed25519 signature against the application public key(s)."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(public_key(secret) for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its signature verifies under one of the public keys."""
        signature = request.header("x-signature-ed25519")
        timestamp = request.header("x-signature-timestamp")
        if signature is None or timestamp is None:
            raise MissingHeaderError("x-signature-ed25519 or x-signature-timestamp is missing")
        # surrogatepass: header text with undecodable bytes must fail to verify, not raise.
        message = timestamp.encode("utf-8", "surrogatepass") + request.body
        require_valid(self._keys, [decode_hex(signature)], message)
        if self._tolerance_s is not None:
            check_age(parse_seconds(timestamp), now, self._tolerance_s, future_too=True)
        return describe(parse_json(request.body))


PRESET = Preset(
    name="discord",
    build=DiscordVerifier,
    summary="X-Signature-Ed25519 Ed25519 over timestamp+body; PING handshakes",
    accepted_status=204,
)
