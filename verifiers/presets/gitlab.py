"""GitLab: the ``X-Gitlab-Token`` secret token, or Standard Webhooks signing.

Options:
    mode (str, default ``token``):
        ``token``: ``X-Gitlab-Token`` must equal one of the secrets (compared in
        constant time). GitLab sends the token verbatim; it proves the sender knows
        it but does not protect the body, and there is no timestamp.
        ``signed``: GitLab's newer signing token (``whsec_…``) sends Standard
        Webhooks headers: ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
        ``{webhook-id}.{webhook-timestamp}.{raw body}``.

Tolerance: 300 s both ways in ``signed`` mode; ``token`` mode has no timestamp.
Id: ``Idempotency-Key`` (stable across retries), else ``X-Gitlab-Event-UUID``, else
``webhook-id``. Type: ``X-Gitlab-Event`` (e.g. ``Push Hook``).
"""

from __future__ import annotations

from verifiers import options
from verifiers.digests import require_match
from verifiers.model import Preset, Request, Settings, Verified
from verifiers.presets.standard_webhooks import verify_signed
from verifiers.signer import ReceiverKeys

MODES = ("token", "signed")


def _text_bytes(text: str) -> bytes:
    # surrogatepass: header text with undecodable bytes must fail to match, not raise.
    return text.encode("utf-8", "surrogatepass")


class GitLabVerifier:
    """Checks GitLab's secret token or its Standard Webhooks signature."""

    def __init__(self, settings: Settings) -> None:
        self._signed = options.choice(settings.options, "mode", MODES, "token") == "signed"
        self._tolerance_s = settings.tolerance_s
        self._tokens = tuple(_text_bytes(secret) for secret in settings.secrets)
        self._keys = ReceiverKeys.from_secrets(settings.secrets) if self._signed else None

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its token (or signature) matches one of the secrets."""
        if self._keys is not None:
            verify_signed(request, now, self._keys, self._tolerance_s)
        else:
            self._check_token(request)
        return Verified(
            event_id=request.header("idempotency-key")
            or request.header("x-gitlab-event-uuid")
            or request.header("webhook-id"),
            event_type=request.header("x-gitlab-event"),
        )

    def _check_token(self, request: Request) -> None:
        token = request.require("x-gitlab-token")
        require_match(self._tokens, [_text_bytes(token)])


PRESET = Preset(
    name="gitlab",
    build=GitLabVerifier,
    summary="X-Gitlab-Token secret token, or Standard Webhooks signing (mode: signed)",
    options=("mode",),
    default_tolerance_s=300,
    secret_headers=lambda _options: frozenset({"x-gitlab-token"}),
)
