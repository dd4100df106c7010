"""Stripe: ``Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>…]``.

The signed content is ``{t}.{raw body}``, HMAC-SHA256, hex. The ``whsec_…`` secret is
the key as its UTF-8 bytes; unlike Svix it is not base64-decoded. Every ``v1`` value is
tried against every secret (Stripe sends several while a secret is rolled). ``v0`` and
any other scheme are ignored, as Stripe asks, so a request cannot be downgraded.

Options: none.

Tolerance: 300 s by default and one-sided, as stripe-python checks it: a timestamp
older than the window is refused, a future one is not. Id and type: body ``id``
(``evt_…``) and ``type``.

The ``t=…,v1=…`` format is shared with Calendly (``verifiers.schemes``).
"""

from __future__ import annotations

from verifiers.model import Preset, Request, Settings, Verified
from verifiers.payload import field, parse_json
from verifiers.schemes import check_t_v1_signature


class StripeVerifier:
    """Checks Stripe's timestamped hex HMAC."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)
        self._tolerance_s = settings.tolerance_s

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if a ``v1`` matches a secret and ``t`` is recent enough."""
        check_t_v1_signature(request, "stripe-signature", self._keys, now, self._tolerance_s)
        document = parse_json(request.body)
        return Verified(event_id=field(document, "id"), event_type=field(document, "type"))


PRESET = Preset(
    name="stripe",
    build=StripeVerifier,
    summary="Stripe-Signature t=…,v1=… hex HMAC-SHA256 of {t}.{body}; 300 s, old only",
    default_tolerance_s=300,
)
