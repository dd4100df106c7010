"""Shopify: ``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(client secret, raw body)>``.

The Events developer preview sends the same value as un-prefixed
``Shopify-Hmac-Sha256``, which is read when the prefixed header is absent. Several
secrets are tried: after a client-secret rotation Shopify keeps signing with the old one
for up to an hour.

Options: none.

No signed timestamp, so no tolerance: replays are stopped by deduplication.

Id: ``{X-Shopify-Topic}:{X-Shopify-Event-Id}`` (an event id marks duplicates of one
topic's delivery; the topic keeps two topics fired by one event apart), else the
per-delivery ``X-Shopify-Webhook-Id``. Type: ``X-Shopify-Topic`` (``orders/create``…).
"""

from __future__ import annotations

from verifiers.digests import decode_base64, hmac_digest, require_match
from verifiers.errors import MissingHeaderError
from verifiers.model import Preset, Request, Settings, Verified


def event_id(request: Request) -> str | None:
    """``{topic}:{event id}``, else the webhook (delivery) id, else None."""
    topic = request.header("x-shopify-topic")
    event = request.header("x-shopify-event-id")
    if event is not None:
        return f"{topic}:{event}" if topic is not None else event
    return request.header("x-shopify-webhook-id") or request.header("shopify-webhook-id")


class ShopifyVerifier:
    """Checks Shopify's base64 HMAC over the raw body."""

    def __init__(self, settings: Settings) -> None:
        self._keys = tuple(secret.encode() for secret in settings.secrets)

    def verify(self, request: Request, now: float) -> Verified:
        """Accept the request if its HMAC matches one of the secrets."""
        header = request.header("x-shopify-hmac-sha256") or request.header("shopify-hmac-sha256")
        if header is None:
            raise MissingHeaderError("x-shopify-hmac-sha256 is missing")
        require_match(
            (hmac_digest("sha256", key, request.body) for key in self._keys),
            [decode_base64(header.strip())],
        )
        return Verified(event_id=event_id(request), event_type=request.header("x-shopify-topic"))


PRESET = Preset(
    name="shopify",
    build=ShopifyVerifier,
    summary="X-Shopify-Hmac-Sha256 base64 HMAC-SHA256 of the body",
)
