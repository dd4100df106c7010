"""Square: ``x-square-hmacsha256-signature: base64(HMAC-SHA256(key, url + body))``.

The signed content is the subscription's notification URL followed by the raw
body. The URL is ``Request.url``, the externally visible URL the gateway was
called on; it must be byte-identical to the URL registered in the Square
subscription. The legacy ``x-square-signature`` (HMAC-SHA1) is refused as an
unsupported version.

Options: none. Secrets: the subscription's signature key.

No timestamp, so no tolerance: replays are stopped by deduplicating on the body's
``event_id``. Type: body ``type`` (e.g. ``payment.updated``).
"""

from __future__ import annotations

from verifiers.digests import decode_base64, hmac_digest, require_match
from verifiers.errors import MalformedRequestError, MissingHeaderError, UnsupportedVersionError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json


class SquareVerifier:
    """Checks Square's base64 HMAC over the notification URL and body."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its signature matches one of the secrets."""
        header = request.header("x-square-hmacsha256-signature")
        if header is None:
            if request.header("x-square-signature") is not None:
                raise UnsupportedVersionError("only x-square-hmacsha256-signature is accepted")
            raise MissingHeaderError("x-square-hmacsha256-signature is missing")
        message = notification_url(request.url) + request.body
        require_match(
            (hmac_digest("sha256", key, message) for key in self._keys),
            [decode_base64(header.strip())],
        )
        document = parse_json(request.body)
        return Verified(
            event_id=field(document, "event_id"),
            event_type=field(document, "type"),
        )


def notification_url(url: str) -> bytes:
    """The request URL as UTF-8 bytes, refusing an empty or unencodable one."""
    try:
        encoded = url.encode()
    except UnicodeEncodeError as e:
        raise MalformedRequestError("request URL is not valid text") from e
    if not encoded:
        raise MalformedRequestError("the notification URL is unknown")
    return encoded


PRESET = Preset(
    name="square",
    build=SquareVerifier,
    summary="x-square-hmacsha256-signature base64 HMAC-SHA256 of the URL and body",
)
