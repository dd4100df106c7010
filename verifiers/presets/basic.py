"""HTTP Basic auth: ``Authorization: Basic base64(user:password)``.

A shared-credential check with no body integrity: use it only for providers that
offer nothing better (Postmark puts the credentials in the webhook URL). Each
secret is one accepted ``user:password``; several secrets allow rotation. The
decoded credentials are compared as SHA-256 digests with ``hmac.compare_digest``,
so neither their content nor their length leaks through timing.

Options: id_header, id_field, type_header, type_field (see
``verifiers.presets._generic``).

No timestamp, so no tolerance.
"""

from __future__ import annotations

import hashlib

from verifiers.digests import decode_base64, require_match
from verifiers.errors import MalformedRequestError, VerifierConfigError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.presets._generic import LOCATOR_OPTIONS, EventLocator


class BasicVerifier:
    """Checks HTTP Basic credentials against the configured ``user:password`` pairs."""

    def __init__(self, settings: Settings) -> None:
        if any(":" not in secret for secret in settings.secrets):
            raise VerifierConfigError("secrets", "each must be user:password")
        self._digests = tuple(
            hashlib.sha256(secret.encode()).digest() for secret in settings.secrets
        )
        self._locator = EventLocator(settings.options)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its credentials equal one of the secrets."""
        header = request.require("authorization")
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "basic":
            raise MalformedRequestError("authorization scheme must be Basic")
        decoded = decode_base64(credentials.strip())
        if b":" not in decoded:
            raise MalformedRequestError("credentials must be user:password")
        require_match(self._digests, [hashlib.sha256(decoded).digest()])
        return self._locator.locate(request)


PRESET = Preset(
    name="basic",
    build=BasicVerifier,
    summary="HTTP Basic auth against user:password secrets (no body integrity)",
    options=LOCATOR_OPTIONS,
)
