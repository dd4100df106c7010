"""Intercom: ``X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, raw body)>``.

The key is the app's ``client_secret`` (legacy v1 subscriptions: their ``hub_secret``).
SHA-1 is Intercom's choice; as an HMAC it is still sound.

Options: none.

No signed timestamp, so no tolerance: replays are stopped by deduplication.

Id: body ``id`` (``notif_…``). Type: body ``topic`` (``user.created``, ``ping``…).
"""

from __future__ import annotations

from verifiers.digests import decode_hex, hmac_digest, require_match
from verifiers.errors import MalformedRequestError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json


class IntercomVerifier:
    """Checks Intercom's hex HMAC-SHA1 over the raw body."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its HMAC matches one of the secrets."""
        header = request.require("x-hub-signature")
        prefix, _, signature = header.partition("=")
        if prefix != "sha1":
            raise MalformedRequestError("signature must start with sha1=")
        require_match(
            (hmac_digest("sha1", key, request.body) for key in self._keys),
            [decode_hex(signature)],
        )
        document = parse_json(request.body)
        return Verified(event_id=field(document, "id"), event_type=field(document, "topic"))


PRESET = Preset(
    name="intercom",
    build=IntercomVerifier,
    summary="X-Hub-Signature sha1= hex HMAC-SHA1 of the body",
)
