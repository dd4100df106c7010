"""Shopify preset: stdlib base64 signatures, the dedupe id, the Events-preview header, refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    VerificationError,
    Verified,
    build_verifier,
)

NOW = 1_700_000_000.0
SECRET = "shpss_client_secret"
BODY = b'{"id": 820982911946154508, "email": "jon@example.com", "total_price": "199.00"}'
EVENT_ID = "98880550-7158-44d4-b7cd-2c97c8a091b5"
WEBHOOK_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


def signature(secret: str, body: bytes) -> str:
    """Shopify's base64 HMAC-SHA256 of the body, computed with the stdlib."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_request(body: bytes, header: str | None, **extra: str) -> Request:
    """A Shopify delivery with the given ``X-Shopify-Hmac-Sha256`` header."""
    headers = {
        "x-shopify-topic": "orders/create",
        "x-shopify-event-id": EVENT_ID,
        "x-shopify-webhook-id": WEBHOOK_ID,
    }
    if header is not None:
        headers["x-shopify-hmac-sha256"] = header
    headers.update(extra)
    return Request(body=body, headers=headers)


def test_signed_delivery_is_accepted_with_id_and_type() -> None:
    """A delivery verifies; the id is ``{topic}:{event id}`` and the type is the topic."""
    verifier = build_verifier("shopify", (SECRET,), None, {})

    verified = verifier.verify(shopify_request(BODY, signature(SECRET, BODY)), NOW)

    assert Verified(event_id=f"orders/create:{EVENT_ID}", event_type="orders/create") == verified


def test_webhook_id_is_the_fallback_id() -> None:
    """Without ``X-Shopify-Event-Id`` the per-delivery webhook id is used."""
    request = Request(
        body=BODY,
        headers={
            "x-shopify-hmac-sha256": signature(SECRET, BODY),
            "x-shopify-topic": "orders/create",
            "x-shopify-webhook-id": WEBHOOK_ID,
        },
    )

    verified = build_verifier("shopify", (SECRET,), None, {}).verify(request, NOW)

    assert Verified(event_id=WEBHOOK_ID, event_type="orders/create") == verified


def test_events_preview_header_is_read() -> None:
    """The un-prefixed ``Shopify-Hmac-Sha256`` of the Events preview verifies too."""
    request = Request(
        body=BODY,
        headers={"shopify-hmac-sha256": signature(SECRET, BODY), "shopify-webhook-id": WEBHOOK_ID},
    )

    verified = build_verifier("shopify", (SECRET,), None, {}).verify(request, NOW)

    assert Verified(event_id=WEBHOOK_ID) == verified


def test_old_secret_still_accepted_after_rotation() -> None:
    """After a rotation, a delivery signed with the old secret (listed second) still passes."""
    verifier = build_verifier("shopify", ("shpss_new", SECRET), None, {})

    verified = verifier.verify(shopify_request(BODY, signature(SECRET, BODY)), NOW)

    assert Verified(event_id=f"orders/create:{EVENT_ID}", event_type="orders/create") == verified


@pytest.mark.parametrize(
    ("body", "header", "error"),
    [
        (BODY, None, MissingHeaderError),
        (BODY, "not base64!", MalformedRequestError),
        (BODY, signature(SECRET, BODY).rstrip("="), MalformedRequestError),
        (BODY, hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest(), SignatureMismatchError),
        (BODY.replace(b"199.00", b"1.00"), signature(SECRET, BODY), SignatureMismatchError),
        (BODY, signature("shpss_wrong", BODY), SignatureMismatchError),
    ],
    ids=[
        "missing",
        "not-base64",
        "unpadded",
        "hex-instead-of-base64",
        "tampered-body",
        "wrong-secret",
    ],
)
def test_refusals(body: bytes, header: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("shopify", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(shopify_request(body, header), NOW)
