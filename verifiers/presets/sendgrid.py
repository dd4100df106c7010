"""SendGrid signed Event Webhook: ECDSA P-256 / SHA-256 over ``{timestamp}{raw body}``.

Headers: ``X-Twilio-Email-Event-Webhook-Signature`` (base64 of a DER ECDSA
signature) and ``X-Twilio-Email-Event-Webhook-Timestamp``; the signed message is the
timestamp text followed directly by the raw body (whose trailing ``\\r\\n`` is
signed too). Secrets: the verification key(s) from Mail Settings, base64 DER
SubjectPublicKeyInfo without PEM armour.

Options: none.

Tolerance: none by default (SendGrid documents none and its SDK checks none); a
source's ``tolerance_s`` turns on a both-ways check of the timestamp (unix seconds).
The body is a JSON array of events and is stored whole: id is the first element's
``sg_event_id``, type its ``event``.
"""

from __future__ import annotations

from verifiers.digests import decode_base64
from verifiers.errors import MalformedRequestError, MissingHeaderError, VerifierConfigError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.public_keys import EcdsaP256Key, require_valid
from verifiers.timestamps import check_age, parse_seconds

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"


def public_key(secret: str) -> EcdsaP256Key:
    """The P-256 key in a base64 DER secret; ``VerifierConfigError`` otherwise."""
    try:
        der = decode_base64("".join(secret.split()))
    except MalformedRequestError as e:
        raise VerifierConfigError("secrets", "a SendGrid key must be base64 DER") from e
    return EcdsaP256Key.from_der(der)


class SendGridVerifier:
    """Checks SendGrid's ECDSA signature against the verification key(s)."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(public_key(secret) for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its signature verifies under one of the keys."""
        signature = request.header(SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER)
        if signature is None or timestamp is None:
            raise MissingHeaderError(f"{SIGNATURE_HEADER} or {TIMESTAMP_HEADER} is missing")
        # surrogatepass: header text with undecodable bytes must fail to verify, not raise.
        message = timestamp.encode("utf-8", "surrogatepass") + request.body
        require_valid(self._keys, [decode_base64(signature)], message)
        if self._tolerance_s is not None:
            check_age(parse_seconds(timestamp), now, self._tolerance_s, future_too=True)
        events = parse_json(request.body)
        return Verified(
            event_id=field(events, 0, "sg_event_id"), event_type=field(events, 0, "event")
        )


PRESET = Preset(
    name="sendgrid",
    build=SendGridVerifier,
    summary="X-Twilio-Email-Event-Webhook-Signature ECDSA P-256 over timestamp+body",
)
