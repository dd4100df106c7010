"""Razorpay preset: razorpay-python's webhook vector and verifier, rotation, refusals."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import razorpay

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

# razorpay-python tests/mocks/fake_payment_authorized_webhook.json (971 bytes, final newline
# included) with the test client's secret; tests/test_client_utility.py gives the signature.
SDK_SECRET = "key_secret"
SDK_SIGNATURE = "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9"
SDK_BODY = b"""{
  "event": "payment.authorized",
  "entity": "event",
  "contains": [
    "payment"
  ],
  "payload": {
    "payment": {
      "entity": {
        "id": "pay_6koWN7bvxujzxM",
        "entity": "payment",
        "amount": 1000000,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_100000000order",
        "international": false,
        "method": "card",
        "amount_refunded": 0,
        "refund_status": null,
        "captured": true,
        "description": "random description",
        "card_id": "card_6koWNAT6LASUqy",
        "bank": null,
        "wallet": null,
        "vpa": null,
        "email": "a@b.com",
        "contact": "+919999999999",
        "notes": {
          "merchant_order_id": "random order id"
        },
        "fee": 23000,
        "service_tax": 3000,
        "error_code": null,
        "error_description": null,
        "created_at": 1479978483
      }
    }
  },
  "created_at": 1400826760
}
"""
EVENT_ID = "evt_KyD7Zw2Oymj3iB"


def signature(secret: str, body: bytes) -> str:
    """Razorpay's hex HMAC-SHA256 of the body, computed with the stdlib."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def razorpay_request(body: bytes, header: str | None) -> Request:
    """A Razorpay webhook with the given ``X-Razorpay-Signature`` header."""
    headers = {"x-razorpay-event-id": EVENT_ID}
    if header is not None:
        headers["x-razorpay-signature"] = header
    return Request(body=body, headers=headers)


def test_sdk_vector_is_accepted_with_id_and_type() -> None:
    """razorpay-python's webhook vector verifies; id from the header, type from body ``event``."""
    verifier = build_verifier("razorpay", (SDK_SECRET,), None, {})

    verified = verifier.verify(razorpay_request(SDK_BODY, SDK_SIGNATURE), NOW)

    assert Verified(event_id=EVENT_ID, event_type="payment.authorized") == verified


@pytest.mark.parametrize(
    ("secret", "body"),
    [(SDK_SECRET, SDK_BODY), ("whsec-rotated", b'{"event": "payment.captured"}')],
    ids=["sdk-vector", "rotated-secret"],
)
def test_sdk_verifier_agrees(secret: str, body: bytes) -> None:
    """razorpay-python's ``verify_webhook_signature`` and the preset accept the same request."""
    client = razorpay.Client(auth=("key_id", SDK_SECRET))
    header = signature(secret, body)
    verifier = build_verifier("razorpay", ("whsec-old", secret), None, {})

    assert client.utility.verify_webhook_signature(body.decode(), header, secret)
    assert EVENT_ID == verifier.verify(razorpay_request(body, header), NOW).event_id


@pytest.mark.parametrize(
    ("body", "header", "error"),
    [
        (SDK_BODY, None, MissingHeaderError),
        (SDK_BODY, "sha256=" + SDK_SIGNATURE, MalformedRequestError),
        (SDK_BODY, "not hex", MalformedRequestError),
        (SDK_BODY.rstrip(b"\n"), SDK_SIGNATURE, SignatureMismatchError),
        (SDK_BODY.replace(b"1000000", b"9000000"), SDK_SIGNATURE, SignatureMismatchError),
        (SDK_BODY, signature("api_key_secret", SDK_BODY), SignatureMismatchError),
    ],
    ids=[
        "missing",
        "prefixed",
        "not-hex",
        "trailing-newline-dropped",
        "tampered-body",
        "wrong-secret",
    ],
)
def test_refusals(body: bytes, header: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("razorpay", (SDK_SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(razorpay_request(body, header), NOW)
