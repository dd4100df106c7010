"""Square preset: square-python-sdk's vectors, its verifier's agreement, and refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from square.utils.webhooks_helper import verify_signature

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    UnsupportedVersionError,
    VerificationError,
    Verified,
    build_verifier,
)

NOW = 1_700_000_000.0
KEY = "Ibxx_5AKakO-3qeNVR61Dw"
URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
    b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f",'
    b'"created_at":"2022-07-13T20:30:59.037339943Z",'
    b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="


def square_request(body: bytes, signature: str | None, url: str = URL, **extra: str) -> Request:
    """A Square notification to ``url`` with the given signature header."""
    headers = {} if signature is None else {"x-square-hmacsha256-signature": signature}
    headers.update(extra)
    return Request(body=body, headers=headers, url=url)


def sign(key: str, url: str, body: bytes) -> str:
    """Square's signature, computed with the stdlib (the SDK has no signer)."""
    return base64.b64encode(
        hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()
    ).decode()


def test_sdk_vector_is_accepted_with_id_and_type() -> None:
    """The SDK's test notification verifies and yields its ``event_id`` and ``type``."""
    verifier = build_verifier("square", (KEY,), None, {})

    verified = verifier.verify(square_request(BODY, SIGNATURE), NOW)

    assert (
        Verified(
            event_id="ac3ac95b-f97d-458c-a6e6-18981597e05f", event_type="webhooks.test_notification"
        )
        == verified
    )


def test_sdk_escaped_body_vector_is_accepted() -> None:
    """The SDK's vector with ``<``/``>`` in the body verifies byte for byte."""
    verifier = build_verifier("square", ("signature-key",), None, {})
    request = square_request(
        b'{"data":{"type":"webhooks","id":">id<"}}',
        "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
        "https://webhook.site/webhooks",
    )

    verified = verifier.verify(request, NOW)

    assert Verified() == verified


def test_sdk_verifier_agrees_with_our_signer() -> None:
    """The signature our tests compute is one the SDK's own verifier accepts."""
    body = b'{"event_id":"e-1","type":"payment.updated"}'

    assert verify_signature(
        request_body=body.decode(),
        signature_header=sign(KEY, URL, body),
        signature_key=KEY,
        notification_url=URL,
    )


def test_rotated_key_second_secret_matches() -> None:
    """A signature made with the second listed key passes."""
    body = b'{"event_id":"e-2","type":"payment.created"}'
    verifier = build_verifier("square", ("old-key", "new-key"), None, {})

    verified = verifier.verify(square_request(body, sign("new-key", URL, body)), NOW)

    assert Verified(event_id="e-2", event_type="payment.created") == verified


def test_signed_non_json_body_has_no_id() -> None:
    """A correctly signed body that is not JSON passes with no id or type (gateway fallback)."""
    body = b"\xff not json"
    verifier = build_verifier("square", (KEY,), None, {})

    verified = verifier.verify(square_request(body, sign(KEY, URL, body)), NOW)

    assert Verified() == verified


def test_no_replay_window() -> None:
    """Square signs no timestamp, so the same request verifies at any time."""
    verifier = build_verifier("square", (KEY,), None, {})

    verifier.verify(square_request(BODY, SIGNATURE), 0.0)
    verifier.verify(square_request(BODY, SIGNATURE), NOW * 2)


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (square_request(BODY, None), MissingHeaderError),
        (square_request(BODY, None, **{"x-square-signature": "abc="}), UnsupportedVersionError),
        (square_request(BODY, "%%%"), MalformedRequestError),
        (square_request(BODY.replace(b"MLEF", b"MLEG"), SIGNATURE), SignatureMismatchError),
        (
            square_request(BODY, SIGNATURE, "http://10.0.0.5:8080/ingest/square"),
            SignatureMismatchError,
        ),
        (square_request(BODY, SIGNATURE, ""), MalformedRequestError),
        (square_request(BODY, SIGNATURE, URL + "\udcff"), MalformedRequestError),
    ],
    ids=[
        "missing",
        "legacy-sha1-only",
        "not-base64",
        "tampered-body",
        "internal-url",
        "no-url",
        "unencodable-url",
    ],
)
def test_refusals(request_: Request, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("square", (KEY,), None, {})

    with pytest.raises(error):
        verifier.verify(request_, NOW)


def test_wrong_key_is_refused() -> None:
    """The SDK's vector does not verify under another signature key."""
    verifier = build_verifier("square", ("another-key",), None, {})

    with pytest.raises(SignatureMismatchError):
        verifier.verify(square_request(BODY, SIGNATURE), NOW)
