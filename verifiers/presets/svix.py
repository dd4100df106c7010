"""Svix (used by Resend, Clerk and others): Standard Webhooks under ``svix-*`` headers.

Reads ``svix-id``, ``svix-timestamp`` and ``svix-signature``, each falling back to its
``webhook-*`` twin, as the Svix SDK does; the scheme is otherwise exactly
``standard-webhooks``: ``v1,<base64 HMAC-SHA256>`` entries over
``{id}.{timestamp}.{raw body}``, keyed by the base64-decoded ``whsec_…`` secret
(``whpk_…`` public keys check ``v1a`` Ed25519 entries).

Options: none.

Tolerance: 300 s both ways, as the SDK. Id: ``svix-id``. Type: body ``type``.
"""

from __future__ import annotations

from verifiers.model import Preset, Settings
from verifiers.presets.standard_webhooks import StandardWebhooksVerifier

HEADER_PREFIXES = ("svix-", "webhook-")


def build(settings: Settings) -> StandardWebhooksVerifier:
    """A Standard Webhooks verifier reading the ``svix-*`` headers first."""
    return StandardWebhooksVerifier(settings, prefixes=HEADER_PREFIXES)


PRESET = Preset(
    name="svix",
    build=build,
    summary="Svix (Resend, Clerk): svix-signature v1 HMAC-SHA256 over id.timestamp.body",
    default_tolerance_s=300,
)
