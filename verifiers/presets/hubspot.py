"""HubSpot (signature v3): ``X-HubSpot-Signature-v3`` and ``X-HubSpot-Request-Timestamp``.

The signature is ``base64(HMAC-SHA256(client_secret, METHOD + URI + body + timestamp))``
where ``timestamp`` is the header exactly as sent (unix **milliseconds**) and ``URI``
is ``Request.url`` with the escapes HubSpot's docs list (``%3A %2F %3F %40 %21 %24
%27 %28 %29 %2A %2C %3B``, any case) decoded. The official Python SDK
(``hubspot.utils.signature.Signature``) signs the URI as given, so the undecoded URL
is tried too when it differs. The legacy v1/v2 signatures (plain SHA-256 with no
timestamp) are refused as an unsupported version.

Options: none. Secrets: the app's client secret.

Default tolerance: 300 s, past only, like the SDK (a timestamp in the future is
accepted). The body is a JSON array of events; id and type come from the first
one: ``eventId`` and ``subscriptionType``.
"""

from __future__ import annotations

import re

from verifiers.digests import decode_base64, hmac_digest, require_match
from verifiers.errors import MalformedRequestError, MissingHeaderError, UnsupportedVersionError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.timestamps import check_age, parse_seconds

DECODED_ESCAPES = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)


class HubSpotVerifier:
    """Checks HubSpot's v3 HMAC over method, URI, body and millisecond timestamp."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept a fresh request whose v3 signature matches one of the secrets."""
        signature = request.header("x-hubspot-signature-v3")
        if signature is None:
            if request.header("x-hubspot-signature") is not None:
                raise UnsupportedVersionError("only the v3 signature is accepted")
            raise MissingHeaderError("x-hubspot-signature-v3 is missing")
        timestamp = request.require("x-hubspot-request-timestamp")
        # The SDK floors milliseconds to seconds before comparing.
        check_age(parse_seconds(timestamp) // 1000, now, self._tolerance_s, future_too=False)
        tail = request.body + timestamp.encode()
        messages = [head + tail for head in signed_heads(request.method, request.url)]
        require_match(
            (hmac_digest("sha256", key, message) for key in self._keys for message in messages),
            [decode_base64(signature.strip())],
        )
        document = parse_json(request.body)
        return Verified(
            event_id=field(document, 0, "eventId"),
            event_type=field(document, 0, "subscriptionType"),
        )


def signed_heads(method: str, url: str) -> tuple[bytes, ...]:
    """``METHOD + URI``, the URI as HubSpot's docs sign it, then as the SDK does if different."""
    decoded = DECODED_ESCAPES.sub(lambda escape: chr(int(escape.group(1), 16)), url)
    try:
        return tuple(dict.fromkeys([(method + decoded).encode(), (method + url).encode()]))
    except UnicodeEncodeError as e:
        raise MalformedRequestError("request method or URL is not valid text") from e


PRESET = Preset(
    name="hubspot",
    build=HubSpotVerifier,
    summary="X-HubSpot-Signature-v3 base64 HMAC-SHA256 of method, URI, body and ms timestamp",
    default_tolerance_s=300.0,
)
