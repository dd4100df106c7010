"""Twilio preset: twilio-python's published vectors, its signer and validator, refusals."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

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
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
FORM = urlencode(PARAMS).encode()
JSON_BODY = '{"property": "value", "boolean": true}'
JSON_URL = URL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"


def twilio_request(body: bytes, signature: str | None, url: str = URL, **extra: str) -> Request:
    """A Twilio webhook POST to ``url`` with the given signature header."""
    headers = {"i-twilio-idempotency-token": "idem-1"}
    if signature is not None:
        headers["x-twilio-signature"] = signature
    headers.update(extra)
    return Request(body=body, headers=headers, url=url)


@pytest.mark.parametrize(
    ("url", "body", "signature"),
    [
        (URL, FORM, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (
            URL,
            b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234",
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
        ),
        (
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            FORM,
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
    ],
    ids=["form-post", "repeated-keys-deduplicated", "http-with-port"],
)
def test_published_vectors_are_accepted_with_idempotency_id(
    url: str, body: bytes, signature: str
) -> None:
    """twilio-python's test vectors verify; the event id is the idempotency token."""
    verifier = build_verifier("twilio", (TOKEN,), None, {})

    verified = verifier.verify(twilio_request(body, signature, url), NOW)

    assert Verified(event_id="idem-1") == verified


def test_json_body_signed_by_sdk_is_accepted_and_sdk_agrees() -> None:
    """A JSON delivery signed over the ``bodySHA256`` URL verifies here and in the SDK."""
    validator = RequestValidator(TOKEN)
    signature = validator.compute_signature(JSON_URL, {})
    verifier = build_verifier("twilio", (TOKEN,), None, {})

    verifier.verify(twilio_request(JSON_BODY.encode(), signature, JSON_URL), NOW)

    assert validator.validate(JSON_URL, JSON_BODY, signature)


@pytest.mark.parametrize(
    ("signed_url", "received_url"),
    [
        ("https://mycompany.com:443/myapp.php?foo=1&bar=2", URL),
        (URL, "https://mycompany.com:443/myapp.php?foo=1&bar=2"),
        ("http://mycompany.com:80/hook", "http://mycompany.com/hook"),
    ],
    ids=["signed-with-port", "received-with-port", "http-default-port"],
)
def test_url_is_tried_with_and_without_port(signed_url: str, received_url: str) -> None:
    """Like the SDK, a signature over the URL with or without its port is accepted."""
    signature = RequestValidator(TOKEN).compute_signature(signed_url, PARAMS)
    verifier = build_verifier("twilio", (TOKEN,), None, {})

    verifier.verify(twilio_request(FORM, signature, received_url), NOW)


def test_rotated_token_second_secret_matches() -> None:
    """A signature made with the second listed token passes."""
    signature = RequestValidator("new-token").compute_signature(URL, PARAMS)
    verifier = build_verifier("twilio", ("old-token", "new-token"), None, {})

    assert Verified(event_id="idem-1") == verifier.verify(twilio_request(FORM, signature), NOW)


def test_shared_key_sha256_signature_is_accepted() -> None:
    """A SharedKey webhook naming HMAC_SHA256 in its settings header verifies."""
    signature = RequestValidator("shared-key").compute_signature(URL, PARAMS, "HMAC_SHA256")
    request = twilio_request(
        FORM,
        signature,
        **{
            "x-twilio-webhooks-signature-settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
        },
    )

    build_verifier("twilio", ("shared-key",), None, {}).verify(request, NOW)


def test_no_replay_window() -> None:
    """Twilio signs no timestamp, so the same request verifies years later too."""
    verifier = build_verifier("twilio", (TOKEN,), None, {})
    request = twilio_request(FORM, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")

    verifier.verify(request, 0.0)
    verifier.verify(request, NOW * 2)


GOOD = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize(
    ("request_", "secret", "error"),
    [
        (twilio_request(FORM, None), TOKEN, MissingHeaderError),
        (twilio_request(FORM, "not base64!"), TOKEN, MalformedRequestError),
        (twilio_request(FORM.replace(b"1234", b"9999"), GOOD), TOKEN, SignatureMismatchError),
        (twilio_request(FORM + b"&Extra=1", GOOD), TOKEN, SignatureMismatchError),
        (twilio_request(FORM, GOOD), "54321", SignatureMismatchError),
        (twilio_request(FORM, GOOD, URL.replace("foo=1", "foo=2")), TOKEN, SignatureMismatchError),
        (twilio_request(b"\xff\xfe=1", GOOD), TOKEN, MalformedRequestError),
        (twilio_request(b"Body=%ff", GOOD), TOKEN, MalformedRequestError),
        (twilio_request(FORM, GOOD, "https://mycompany.com:99999/x"), TOKEN, MalformedRequestError),
        (twilio_request(FORM, GOOD, "https://[::1/x"), TOKEN, MalformedRequestError),
        (twilio_request(FORM, GOOD, ""), TOKEN, MalformedRequestError),
        (twilio_request(FORM, GOOD, "https://mycompany.com/\udcff"), TOKEN, MalformedRequestError),
        (
            twilio_request(FORM, GOOD, **{"x-twilio-webhooks-signature-settings": "algorithm=MD5"}),
            TOKEN,
            UnsupportedVersionError,
        ),
    ],
    ids=[
        "missing",
        "not-base64",
        "tampered-param",
        "added-param",
        "wrong-token",
        "tampered-url",
        "non-utf8-body",
        "non-utf8-escape",
        "port-out-of-range",
        "unparsable-url",
        "no-url",
        "unencodable-url",
        "unknown-algorithm",
    ],
)
def test_form_refusals(request_: Request, secret: str, error: type[VerificationError]) -> None:
    """Each broken form request is refused with its own typed error."""
    verifier = build_verifier("twilio", (secret,), None, {})

    with pytest.raises(error):
        verifier.verify(request_, NOW)


@pytest.mark.parametrize(
    ("body", "url", "error"),
    [
        (JSON_BODY.replace("value", "other"), JSON_URL, SignatureMismatchError),
        (JSON_BODY, JSON_URL[:-64] + "0" * 64, SignatureMismatchError),
        (JSON_BODY, JSON_URL[:-64] + "zz", MalformedRequestError),
    ],
    ids=["tampered-body", "wrong-body-hash", "body-hash-not-hex"],
)
def test_json_refusals(body: str, url: str, error: type[VerificationError]) -> None:
    """A JSON body not matching its ``bodySHA256`` is refused, even with the URL signed."""
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    verifier = build_verifier("twilio", (TOKEN,), None, {})

    with pytest.raises(error):
        verifier.verify(twilio_request(body.encode(), signature, url), NOW)
