"""API key: a shared token in a request header, e.g. ``X-Api-Key: <token>``.

A shared-secret check with no body integrity: use it only for providers that offer
nothing better. Each secret is one accepted token; several secrets allow rotation.
Tokens are compared as SHA-256 digests with ``hmac.compare_digest``, so neither
their content nor their length leaks through timing.

Options:
    header (str, default ``X-Api-Key``): the header holding the token.
    prefix (str, default ""): text before the token, matched exactly, e.g. ``Bearer ``
        with ``header: Authorization``.
    id_header, id_field, type_header, type_field: see ``verifiers.presets._generic``.

No timestamp, so no tolerance.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from verifiers import options
from verifiers.digests import require_match, text_bytes
from verifiers.errors import MalformedRequestError
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.presets._generic import LOCATOR_OPTIONS, EventLocator

DEFAULT_HEADER = "X-Api-Key"


def token_header(settings_options: Mapping[str, object]) -> frozenset[str]:
    """The header holding the token, lower-case: it is the secret, never stored."""
    return frozenset({options.text(settings_options, "header", DEFAULT_HEADER).lower()})


class ApiKeyVerifier:
    """Checks a token header against the configured tokens."""

    def __init__(self, settings: Settings) -> None:
        self._header = options.text(settings.options, "header", DEFAULT_HEADER)
        self._prefix = options.any_text(settings.options, "prefix")
        self._digests = tuple(
            hashlib.sha256(secret.encode()).digest() for secret in settings.secrets
        )
        self._locator = EventLocator(settings.options)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its token equals one of the secrets."""
        value = request.require(self._header)
        if not value.startswith(self._prefix):
            raise MalformedRequestError(f"{self._header} must start with {self._prefix!r}")
        token = text_bytes(value[len(self._prefix) :], self._header)
        require_match(self._digests, [hashlib.sha256(token).digest()])
        return self._locator.locate(request)


PRESET = Preset(
    name="api-key",
    build=ApiKeyVerifier,
    summary="shared token in a header (default X-Api-Key), optional prefix (no body integrity)",
    options=("header", "prefix", *LOCATOR_OPTIONS),
    secret_headers=token_header,
)
