"""GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``.

Options:
    legacy_sha1 (bool, default false): also accept the legacy ``X-Hub-Signature:
        sha1=<hex>`` when no SHA-256 header is sent.

No timestamp, so no tolerance: replays are stopped by deduplicating on
``X-GitHub-Delivery``. Type: ``X-GitHub-Event``.
"""

from __future__ import annotations

from verifiers import options
from verifiers.digests import decode_hex, hmac_digest, require_match
from verifiers.errors import MalformedRequestError, MissingHeaderError
from verifiers.model import Preset, Request, Settings, Verified


class GitHubVerifier:
    """Checks GitHub's hex HMAC over the raw body."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._legacy_sha1 = options.flag(settings.options, "legacy_sha1", False)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its signature matches one of the secrets."""
        header, algorithm = request.header("x-hub-signature-256"), "sha256"
        if header is None and self._legacy_sha1:
            header, algorithm = request.header("x-hub-signature"), "sha1"
        if header is None:
            raise MissingHeaderError("x-hub-signature-256 is missing")
        prefix, _, signature = header.partition("=")
        if prefix != algorithm:
            raise MalformedRequestError(f"signature must start with {algorithm}=")
        require_match(
            (hmac_digest(algorithm, key, request.body) for key in self._keys),
            [decode_hex(signature)],
        )
        return Verified(
            event_id=request.header("x-github-delivery"),
            event_type=request.header("x-github-event"),
        )


PRESET = Preset(
    name="github",
    build=GitHubVerifier,
    summary="X-Hub-Signature-256 hex HMAC-SHA256 of the body",
    options=("legacy_sha1",),
)
