"""Svix preset (Resend, Clerk): the library vector, svix and resend SDKs, and refusals."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
import resend
from svix.webhooks import Webhook as SvixWebhook

from verifiers import (
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    VerificationError,
    build_verifier,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_" + base64.b64encode(b"the previous secret, 32 bytes..").decode()
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
RESEND_BODY = (
    b'{"type":"email.delivered","created_at":"2026-11-02T10:00:00.000Z",'
    b'"data":{"email_id":"4ef9a417-02e9-4d39-ad75-9611e0fcc33c"}}'
)


def svix_request(
    body: bytes, signature: str | None, ts: int = TS, prefix: str = "svix-"
) -> Request:
    """A Svix delivery with its three headers under ``prefix``."""
    headers = {f"{prefix}id": MSG_ID, f"{prefix}timestamp": str(ts)}
    if signature is not None:
        headers[f"{prefix}signature"] = signature
    return Request(body=body, headers=headers)


def svix_signature(secret: str, body: bytes, ts: int = TS) -> str:
    """The signature the svix SDK's signer computes."""
    return SvixWebhook(secret).sign(MSG_ID, datetime.fromtimestamp(ts, UTC), body.decode())


@pytest.mark.parametrize("prefix", ["svix-", "webhook-"])
def test_library_vector_is_accepted_under_either_header_family(prefix: str) -> None:
    """The shared library vector verifies from ``svix-*`` and from ``webhook-*`` headers."""
    verifier = build_verifier("svix", (SECRET,), None, {})

    verified = verifier.verify(svix_request(VECTOR_BODY, VECTOR_SIGNATURE, prefix=prefix), TS)

    assert (MSG_ID, None) == (verified.event_id, verified.event_type)


def test_svix_headers_win_over_webhook_headers() -> None:
    """With both families present the ``svix-*`` values are used, as the SDK does."""
    request = svix_request(VECTOR_BODY, VECTOR_SIGNATURE)
    headers = {**request.headers, "webhook-id": "msg_decoy", "webhook-signature": "v1,AAAA"}
    verifier = build_verifier("svix", (SECRET,), None, {})

    assert MSG_ID == verifier.verify(Request(body=VECTOR_BODY, headers=headers), TS).event_id


def test_svix_signature_is_accepted_under_rotation_with_type() -> None:
    """A svix-SDK signature with the new secret passes while the old one is listed."""
    verifier = build_verifier("svix", (OLD_SECRET, SECRET), None, {})

    verified = verifier.verify(svix_request(RESEND_BODY, svix_signature(SECRET, RESEND_BODY)), TS)

    assert "email.delivered" == verified.event_type


def test_live_resend_event_is_accepted_here_and_by_both_sdks() -> None:
    """A Resend-shaped delivery signed now passes our verifier, svix's and resend's."""
    now = int(time.time())
    signature = svix_signature(SECRET, RESEND_BODY, now)
    request = svix_request(RESEND_BODY, signature, now)
    verifier = build_verifier("svix", (SECRET,), None, {})

    verified = verifier.verify(request, now)
    SvixWebhook(SECRET).verify(RESEND_BODY, dict(request.headers))
    parsed = resend.Webhooks.verify(
        {
            "payload": RESEND_BODY.decode(),
            "headers": {"id": MSG_ID, "timestamp": str(now), "signature": signature},
            "webhook_secret": SECRET,
        }
    )

    assert verified.event_type == parsed["type"]


@pytest.mark.parametrize(
    ("request_", "now", "error"),
    [
        (svix_request(b'{"test": 2432232315}', VECTOR_SIGNATURE), TS, SignatureMismatchError),
        (
            svix_request(VECTOR_BODY, svix_signature(OLD_SECRET, VECTOR_BODY)),
            TS,
            SignatureMismatchError,
        ),
        (svix_request(VECTOR_BODY, None), TS, MissingHeaderError),
        (svix_request(VECTOR_BODY, VECTOR_SIGNATURE), TS + 301, TimestampOutOfToleranceError),
        (svix_request(VECTOR_BODY, VECTOR_SIGNATURE), TS - 301, TimestampOutOfToleranceError),
    ],
    ids=["tampered-body", "wrong-secret", "missing-signature", "too-old", "too-new"],
)
def test_refusals(request_: Request, now: int, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("svix", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(request_, now)
