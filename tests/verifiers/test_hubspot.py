"""HubSpot v3 preset: hubspot-api-client's vector and signer, URI decoding, window, refusals."""

from __future__ import annotations

import time

import pytest
from hubspot.utils.signature import Signature

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    UnsupportedVersionError,
    VerificationError,
    Verified,
    build_verifier,
)

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
URL = "https://www.example.com/webhook_uri"
TS_MS = "1693657560000"
NOW = 1_693_657_560.0 + 10
BODY = (
    b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
    b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
)


def sdk_sign(body: bytes, url: str = URL, timestamp: str = TS_MS, secret: str = SECRET) -> str:
    """The v3 signature as hubspot-api-client computes it (URI as given)."""
    return Signature.get_signature(secret, body.decode(), "v3", url, "POST", timestamp)


def hubspot_request(
    body: bytes,
    signature: str | None,
    timestamp: str | None = TS_MS,
    url: str = URL,
    method: str = "POST",
) -> Request:
    """A HubSpot webhook with the given v3 headers."""
    headers = {}
    if signature is not None:
        headers["x-hubspot-signature-v3"] = signature
    if timestamp is not None:
        headers["x-hubspot-request-timestamp"] = timestamp
    return Request(body=body, headers=headers, url=url, method=method)


def test_sdk_vector_is_accepted() -> None:
    """The SDK's published v3 vector verifies (its body is not JSON: no id, no type)."""
    verifier = build_verifier("hubspot", (SECRET,), None, {})
    request = hubspot_request(
        b"{'example_field':'example_value'}", "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y="
    )

    verified = verifier.verify(request, NOW)

    assert Verified() == verified


def test_sdk_signed_batch_yields_first_event_id_and_type() -> None:
    """An SDK-signed event array verifies; id and type come from its first element."""
    verifier = build_verifier("hubspot", (SECRET,), None, {})

    verified = verifier.verify(hubspot_request(BODY, sdk_sign(BODY)), NOW)

    assert Verified(event_id="1", event_type="contact.creation") == verified


def test_sdk_validator_agrees_on_a_fresh_request() -> None:
    """A request we accept is also accepted by the SDK's ``is_valid`` (real clock)."""
    now = time.time()
    timestamp = str(int(now * 1000))
    signature = sdk_sign(BODY, timestamp=timestamp)
    build_verifier("hubspot", (SECRET,), None, {}).verify(
        hubspot_request(BODY, signature, timestamp), now
    )

    assert Signature.is_valid(signature, SECRET, BODY.decode(), URL, "POST", "v3", timestamp)


@pytest.mark.parametrize(
    ("received_url", "signed_url"),
    [
        (
            "https://www.example.com/webhook_uri?state=a%3Ab%2Fc%40d%21%24%27%28%29%2A%2C%3B",
            "https://www.example.com/webhook_uri?state=a:b/c@d!$'()*,;",
        ),
        (
            "https://www.example.com/webhook_uri?redirect=https%3a%2f%2fx.test%3fq",
            "https://www.example.com/webhook_uri?redirect=https://x.test?q",
        ),
        (
            "https://www.example.com/webhook_uri?q=a%3Ab",
            "https://www.example.com/webhook_uri?q=a%3Ab",
        ),
    ],
    ids=["docs-escapes-decoded", "lower-case-escapes-decoded", "sdk-raw-uri"],
)
def test_listed_escapes_are_decoded_before_signing(received_url: str, signed_url: str) -> None:
    """HubSpot signs the URI with its listed %-escapes decoded; the SDK's raw URI also passes."""
    verifier = build_verifier("hubspot", (SECRET,), None, {})

    verifier.verify(hubspot_request(BODY, sdk_sign(BODY, signed_url), url=received_url), NOW)


def test_other_escapes_stay_encoded() -> None:
    """Escapes outside HubSpot's list (``%20``) are signed as sent, not decoded."""
    received = "https://www.example.com/webhook_uri?q=a%20b"
    verifier = build_verifier("hubspot", (SECRET,), None, {})
    decoded_signature = sdk_sign(BODY, "https://www.example.com/webhook_uri?q=a b")

    with pytest.raises(SignatureMismatchError):
        verifier.verify(hubspot_request(BODY, decoded_signature, url=received), NOW)


def test_rotated_secret_second_secret_matches() -> None:
    """A signature made with the second listed client secret passes."""
    verifier = build_verifier("hubspot", ("old-secret", "new-secret"), None, {})

    verifier.verify(hubspot_request(BODY, sdk_sign(BODY, secret="new-secret")), NOW)


@pytest.mark.parametrize(
    ("now", "tolerance_s", "accepted"),
    [
        (1_693_657_560.0 + 299, None, True),
        (1_693_657_560.0 + 301, None, False),
        (1_693_657_560.0 + 3_600, 7_200.0, True),
        (1_693_657_560.0 - 3_600, None, True),
    ],
    ids=["just-inside", "too-old", "wider-window", "future-accepted-like-sdk"],
)
def test_timestamp_window_is_past_only(
    now: float, tolerance_s: float | None, accepted: bool
) -> None:
    """Old timestamps are refused after 300 s (or the source's window); future ones pass (SDK)."""
    verifier = build_verifier("hubspot", (SECRET,), tolerance_s, {})
    request = hubspot_request(BODY, sdk_sign(BODY))

    if accepted:
        verifier.verify(request, now)
    else:
        with pytest.raises(TimestampOutOfToleranceError):
            verifier.verify(request, now)


GOOD = sdk_sign(BODY)


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (hubspot_request(BODY, None), MissingHeaderError),
        (
            Request(
                body=BODY,
                headers={"x-hubspot-signature": "ab", "x-hubspot-signature-version": "v1"},
                url=URL,
            ),
            UnsupportedVersionError,
        ),
        (hubspot_request(BODY, GOOD, None), MissingHeaderError),
        (hubspot_request(BODY, GOOD, "soon"), MalformedRequestError),
        (hubspot_request(BODY, GOOD, "9" * 400), MalformedRequestError),
        (hubspot_request(BODY, "***"), MalformedRequestError),
        (hubspot_request(BODY.replace(b"creation", b"deletion"), GOOD), SignatureMismatchError),
        (hubspot_request(BODY, GOOD, "1693657560001"), SignatureMismatchError),
        (hubspot_request(BODY, GOOD, method="PUT"), SignatureMismatchError),
        (hubspot_request(BODY, GOOD, url=URL + "/other"), SignatureMismatchError),
        (hubspot_request(BODY, GOOD, url=URL + "\udcff"), MalformedRequestError),
    ],
    ids=[
        "missing",
        "legacy-v1-only",
        "missing-timestamp",
        "timestamp-not-integer",
        "huge-timestamp",
        "not-base64",
        "tampered-body",
        "tampered-timestamp",
        "other-method",
        "other-url",
        "unencodable-url",
    ],
)
def test_refusals(request_: Request, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("hubspot", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(request_, NOW)


def test_wrong_secret_is_refused() -> None:
    """The SDK's signature does not verify under another client secret."""
    verifier = build_verifier("hubspot", ("zzzz",), None, {})

    with pytest.raises(SignatureMismatchError):
        verifier.verify(hubspot_request(BODY, GOOD), NOW)
