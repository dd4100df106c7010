"""Standard Webhooks preset: the library vector, SDK and PyNaCl signatures, and refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

import pytest
from nacl.signing import SigningKey
from standardwebhooks import Webhook as StandardWebhook

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    UnsupportedVersionError,
    VerificationError,
    VerifierConfigError,
    build_verifier,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
BODY = b'{"type":"contact.created","data":{"id":"1f81eb52"}}'
OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()


def webhook_request(body: bytes, signature: str | None, ts: str = str(TS), **extra: str) -> Request:
    """A Standard Webhooks delivery with the given signature header."""
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": ts}
    if signature is not None:
        headers["webhook-signature"] = signature
    headers.update(extra)
    return Request(body=body, headers=headers)


def sdk_signature(secret: str, body: bytes, ts: int = TS, msg_id: str = MSG_ID) -> str:
    """The ``v1`` entry the standardwebhooks SDK computes."""
    return StandardWebhook(secret).sign(msg_id, datetime.fromtimestamp(ts, UTC), body.decode())


def nacl_signature(key: SigningKey, body: bytes, ts: int = TS) -> str:
    """A ``v1a`` entry made with PyNaCl, independently of our signer."""
    signed = key.sign(f"{MSG_ID}.{ts}.".encode() + body).signature
    return "v1a," + base64.b64encode(signed).decode()


def public_secret(key: SigningKey) -> str:
    """The ``whpk_`` form of ``key``'s public half."""
    return "whpk_" + base64.b64encode(bytes(key.verify_key)).decode()


def test_library_vector_is_accepted_with_id() -> None:
    """The vector shared by the libraries' tests verifies; the id is ``webhook-id``."""
    verifier = build_verifier("standard-webhooks", (SECRET,), None, {})

    verified = verifier.verify(webhook_request(VECTOR_BODY, VECTOR_SIGNATURE), TS)

    assert (MSG_ID, None) == (verified.event_id, verified.event_type)


def test_sdk_signature_is_accepted_under_rotation_with_type() -> None:
    """An SDK signature with the new secret passes while the old one is listed first."""
    verifier = build_verifier("standard-webhooks", (OTHER_SECRET, SECRET), None, {})

    verified = verifier.verify(webhook_request(BODY, sdk_signature(SECRET, BODY)), TS)

    assert "contact.created" == verified.event_type


def test_live_request_is_accepted_here_and_by_the_sdk() -> None:
    """A request signed now passes both our verifier and the SDK's own verify."""
    now = int(time.time())
    request = webhook_request(BODY, sdk_signature(SECRET, BODY, now), str(now))
    verifier = build_verifier("standard-webhooks", (SECRET,), None, {})

    verifier.verify(request, now)
    assert "contact.created" == StandardWebhook(SECRET).verify(BODY, dict(request.headers))["type"]


def test_v1a_signature_is_accepted_with_a_public_key() -> None:
    """An Ed25519 ``v1a`` entry verifies under the ``whpk_`` key, next to an HMAC secret."""
    key = SigningKey.generate()
    verifier = build_verifier("standard-webhooks", (SECRET, public_secret(key)), None, {})

    verified = verifier.verify(webhook_request(BODY, nacl_signature(key, BODY)), TS)

    assert MSG_ID == verified.event_id


@pytest.mark.parametrize(
    "signature",
    [
        f"v2,AAAA {VECTOR_SIGNATURE}",
        f"v1,{base64.b64encode(b'x' * 32).decode()} {VECTOR_SIGNATURE}",
        f"  {VECTOR_SIGNATURE}  v1a,{base64.b64encode(b'y' * 64).decode()}",
    ],
    ids=["unknown-version-skipped", "stale-v1-first", "extra-spaces-and-v1a"],
)
def test_any_matching_entry_passes(signature: str) -> None:
    """The list is searched: unknown versions and non-matching entries do not block."""
    verifier = build_verifier("standard-webhooks", (SECRET,), None, {})

    assert MSG_ID == verifier.verify(webhook_request(VECTOR_BODY, signature), TS).event_id


@pytest.mark.parametrize(
    ("now", "error"),
    [
        (TS + 300, None),
        (TS - 300, None),
        (TS + 301, TimestampOutOfToleranceError),
        (TS - 301, TimestampOutOfToleranceError),
    ],
    ids=["300s-old", "300s-ahead", "too-old", "too-new"],
)
def test_tolerance_is_five_minutes_both_ways(
    now: int, error: type[VerificationError] | None
) -> None:
    """Like the SDK, timestamps more than 5 minutes away either way are refused."""
    verifier = build_verifier("standard-webhooks", (SECRET,), None, {})
    request = webhook_request(VECTOR_BODY, VECTOR_SIGNATURE)

    if error is None:
        verifier.verify(request, now)
    else:
        with pytest.raises(error):
            verifier.verify(request, now)


def test_v1a_signature_without_public_key_is_refused() -> None:
    """A genuine Ed25519 entry is refused when only an HMAC secret is configured."""
    verifier = build_verifier("standard-webhooks", (SECRET,), None, {})
    request = webhook_request(BODY, nacl_signature(SigningKey.generate(), BODY))

    with pytest.raises(SignatureMismatchError):
        verifier.verify(request, TS)


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (webhook_request(b'{"test": 2432232315}', VECTOR_SIGNATURE), SignatureMismatchError),
        (
            webhook_request(VECTOR_BODY, sdk_signature(OTHER_SECRET, VECTOR_BODY)),
            SignatureMismatchError,
        ),
        (webhook_request(VECTOR_BODY, VECTOR_SIGNATURE, str(TS + 1)), SignatureMismatchError),
        (
            webhook_request(VECTOR_BODY, VECTOR_SIGNATURE, **{"webhook-id": "msg_other"}),
            SignatureMismatchError,
        ),
        (webhook_request(VECTOR_BODY, None), MissingHeaderError),
        (webhook_request(VECTOR_BODY, "   "), MissingHeaderError),
        (
            Request(
                body=VECTOR_BODY,
                headers={"webhook-timestamp": str(TS), "webhook-signature": VECTOR_SIGNATURE},
            ),
            MissingHeaderError,
        ),
        (
            Request(
                body=VECTOR_BODY,
                headers={"webhook-id": MSG_ID, "webhook-signature": VECTOR_SIGNATURE},
            ),
            MissingHeaderError,
        ),
        (
            webhook_request(VECTOR_BODY, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            MalformedRequestError,
        ),
        (webhook_request(VECTOR_BODY, "v1,not base64!"), MalformedRequestError),
        (webhook_request(VECTOR_BODY, "v1,g0hM9SsE+O"), MalformedRequestError),
        (webhook_request(VECTOR_BODY, VECTOR_SIGNATURE, "1614265330.5"), MalformedRequestError),
        (webhook_request(VECTOR_BODY, VECTOR_SIGNATURE, "9" * 400), MalformedRequestError),
        (webhook_request(VECTOR_BODY, "v2,AAAA v1b,AAAA"), UnsupportedVersionError),
        (
            webhook_request(VECTOR_BODY, VECTOR_SIGNATURE, **{"webhook-id": "msg_\udcff\ud800"}),
            SignatureMismatchError,
        ),
        (webhook_request(b"\xff\xfe not utf-8", VECTOR_SIGNATURE), SignatureMismatchError),
    ],
    ids=[
        "tampered-body",
        "wrong-secret",
        "tampered-timestamp",
        "tampered-id",
        "missing-signature",
        "blank-signature",
        "missing-id",
        "missing-timestamp",
        "no-version",
        "not-base64",
        "bad-padding",
        "fractional-timestamp",
        "huge-timestamp",
        "only-unknown-versions",
        "undecodable-id",
        "non-utf8-body",
    ],
)
def test_refusals(request_: Request, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("standard-webhooks", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(request_, TS)


def test_non_json_body_is_accepted_without_type() -> None:
    """The signature covers bytes, so a signed non-JSON body passes with no type."""
    body = b"\xff not json"
    verifier = build_verifier("standard-webhooks", (SECRET,), None, {})
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{MSG_ID}.{TS}.".encode() + body, hashlib.sha256).digest()
    signature = "v1," + base64.b64encode(digest).decode()

    verified = verifier.verify(webhook_request(body, signature), TS)

    assert (MSG_ID, None) == (verified.event_id, verified.event_type)


@pytest.mark.parametrize(
    "secret",
    ["whsk_" + base64.b64encode(b"s" * 32).decode(), "whsec_!!!", "whpk_" + "A" * 8, "whsec_"],
    ids=["private-key", "not-base64", "short-public-key", "empty"],
)
def test_unusable_secrets_are_config_errors(secret: str) -> None:
    """Secrets the scheme cannot verify with are refused when the source is built."""
    with pytest.raises(VerifierConfigError):
        build_verifier("standard-webhooks", (secret,), None, {})
