"""Calendly: ``Calendly-Webhook-Signature: t=<unix s>,v1=<hex>``.

Stripe's scheme under another name: HMAC-SHA256 of ``{t}.{raw body}``, hex, keyed by
the subscription's webhook signing key (used as its UTF-8 bytes).

Options: none.

Tolerance: 180 s by default (the window of Calendly's docs example), one-sided like
that example: an old ``t`` is refused, a future one is not.

Id: Calendly sends none, so the id is ``{event}:{payload.uri}`` (the invitee or
resource the event is about), which repeats on a retry; None when either is absent.
Type: body ``event`` (``invitee.created``…).
"""

from __future__ import annotations

from typing import Any

from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.schemes import check_t_v1_signature


def event_id(document: Any) -> str | None:
    """``{event}:{payload.uri}``, or None when the body lacks either."""
    event, uri = field(document, "event"), field(document, "payload", "uri")
    return f"{event}:{uri}" if event is not None and uri is not None else None


class CalendlyVerifier:
    """Checks Calendly's timestamped hex HMAC."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if ``v1`` matches a signing key and ``t`` is recent enough."""
        check_t_v1_signature(
            request, "calendly-webhook-signature", self._keys, now, self._tolerance_s
        )
        document = parse_json(request.body)
        return Verified(event_id=event_id(document), event_type=field(document, "event"))


PRESET = Preset(
    name="calendly",
    build=CalendlyVerifier,
    summary="Calendly-Webhook-Signature t=…,v1=… hex HMAC-SHA256 of {t}.{body}; 180 s, old only",
    default_tolerance_s=180,
)
