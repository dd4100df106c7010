"""Standard Webhooks: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signature header lists ``v1,<base64>`` (HMAC-SHA256) and ``v1a,<base64>``
(Ed25519) entries separated by spaces, each over ``{id}.{timestamp}.{raw body}``
(see ``verifiers.signer``). Entries of other versions are skipped, as the spec asks.

Secrets: ``whsec_…`` signing secrets for ``v1`` (bare base64 is accepted too, as the
SDKs do) and ``whpk_…`` public keys for ``v1a``; a request passes when any entry
matches any of them, so listing the old and the new secret covers a rotation.

Options: none.

Tolerance: 300 s both ways (the SDK refuses timestamps too old and too new), checked
once the signature is known to be genuine. Id: ``webhook-id``. Type: body ``type``.
"""

from __future__ import annotations

from collections.abc import Sequence

from verifiers.digests import decode_base64
from verifiers.errors import MalformedRequestError, MissingHeaderError, UnsupportedVersionError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.signer import ReceivedSignatures, ReceiverKeys, signed_content
from verifiers.timestamps import check_age, parse_seconds

HEADER_PREFIXES = ("webhook-",)


def read_header(request: Request, name: str, prefixes: Sequence[str]) -> str:
    """Header ``<prefix><name>`` for the first prefix that is sent; else ``MissingHeaderError``."""
    for prefix in prefixes:
        value = request.header(prefix + name)
        if value is not None and value.strip():
            return value.strip()
    raise MissingHeaderError(f"{prefixes[0]}{name} is missing")


def parse_signatures(header: str) -> ReceivedSignatures:
    """The ``v1`` and ``v1a`` signatures in a ``webhook-signature`` value, decoded."""
    v1: list[bytes] = []
    v1a: list[bytes] = []
    for entry in header.split():
        version, comma, signature = entry.partition(",")
        if not comma:
            raise MalformedRequestError("signature entry is not version,signature")
        if version == "v1":
            v1.append(decode_base64(signature))
        elif version == "v1a":
            v1a.append(decode_base64(signature))
    if not v1 and not v1a:
        raise UnsupportedVersionError("no v1 or v1a signature")
    return ReceivedSignatures(v1=tuple(v1), v1a=tuple(v1a))


def verify_signed(
    request: Request,
    now: float,
    keys: ReceiverKeys,
    tolerance_s: float | None,
    prefixes: Sequence[str] = HEADER_PREFIXES,
) -> str:
    """Check a Standard Webhooks request and return its message id.

    ``prefixes`` lists the header families to read, in order of preference (Svix
    sends ``svix-*``); each header is looked up on its own, as the Svix SDK does.
    """
    msg_id = read_header(request, "id", prefixes)
    timestamp = read_header(request, "timestamp", prefixes)
    received = parse_signatures(read_header(request, "signature", prefixes))
    sent_at = parse_seconds(timestamp)
    keys.require_match(signed_content(msg_id, timestamp, request.body), received)
    check_age(sent_at, now, tolerance_s, future_too=True)
    return msg_id


class StandardWebhooksVerifier:
    """Checks ``v1`` HMAC and ``v1a`` Ed25519 signatures over id, timestamp and body."""

    def __init__(self, settings: Settings, prefixes: Sequence[str] = HEADER_PREFIXES) -> None:
        self._keys = ReceiverKeys.from_secrets(settings.secrets)
        self._tolerance_s = settings.tolerance_s
        self._prefixes = tuple(prefixes)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if some signature matches and the timestamp is recent."""
        msg_id = verify_signed(request, now, self._keys, self._tolerance_s, self._prefixes)
        return Verified(event_id=msg_id, event_type=field(parse_json(request.body), "type"))


PRESET = Preset(
    name="standard-webhooks",
    build=StandardWebhooksVerifier,
    summary="webhook-signature v1 HMAC-SHA256 / v1a Ed25519 over id.timestamp.body",
    default_tolerance_s=300,
)
