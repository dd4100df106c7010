"""GitLab preset: secret-token mode, Standard Webhooks signing mode, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook as StandardWebhook

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    VerificationError,
    VerifierConfigError,
    build_verifier,
)

TOKEN = "glpat-like-but-really-a-webhook-token"
SIGNING_TOKEN = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
IDEMPOTENCY_KEY = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
BODY = b'{"object_kind":"push","ref":"refs/heads/main"}'
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SIGNED = {"mode": "signed"}


def gitlab_request(body: bytes = BODY, **headers: str) -> Request:
    """A GitLab hook delivery with its usual headers plus ``headers``."""
    base = {
        "x-gitlab-event": "Push Hook",
        "x-gitlab-event-uuid": "13792a34-cac6-4fda-95a8-c58e00a3954e",
        "idempotency-key": IDEMPOTENCY_KEY,
    }
    return Request(body=body, headers=base | {k.replace("_", "-"): v for k, v in headers.items()})


def signed_headers(body: bytes, ts: int = TS, secret: str = SIGNING_TOKEN) -> dict[str, str]:
    """The Standard Webhooks headers GitLab's signing token produces (via the SDK)."""
    signature = StandardWebhook(secret).sign(
        IDEMPOTENCY_KEY, datetime.fromtimestamp(ts, UTC), body.decode()
    )
    return {
        "webhook_id": IDEMPOTENCY_KEY,
        "webhook_timestamp": str(ts),
        "webhook_signature": signature,
    }


def test_token_is_accepted_with_idempotency_key_and_event() -> None:
    """The default mode checks ``X-Gitlab-Token``; id and type come from the headers."""
    verifier = build_verifier("gitlab", (TOKEN,), None, {})

    verified = verifier.verify(gitlab_request(x_gitlab_token=TOKEN), TS)

    assert (IDEMPOTENCY_KEY, "Push Hook") == (verified.event_id, verified.event_type)


def test_token_rotation_and_event_uuid_fallback() -> None:
    """A second listed token passes; without ``Idempotency-Key`` the event UUID is the id."""
    verifier = build_verifier("gitlab", ("old-token", TOKEN), None, {"mode": "token"})
    request = Request(
        body=BODY,
        headers={"x-gitlab-token": TOKEN, "x-gitlab-event-uuid": "uuid-1", "x-gitlab-event": "Tag"},
    )

    verified = verifier.verify(request, TS)

    assert ("uuid-1", "Tag") == (verified.event_id, verified.event_type)


def test_signed_mode_accepts_the_library_vector() -> None:
    """In signed mode GitLab's Standard Webhooks headers verify (shared library vector)."""
    verifier = build_verifier("gitlab", (SIGNING_TOKEN,), None, SIGNED)
    request = gitlab_request(
        VECTOR_BODY,
        webhook_id=IDEMPOTENCY_KEY,
        webhook_timestamp=str(TS),
        webhook_signature=VECTOR_SIGNATURE,
    )

    verified = verifier.verify(request, TS)

    assert (IDEMPOTENCY_KEY, "Push Hook") == (verified.event_id, verified.event_type)


def test_signed_mode_accepts_sdk_signature_under_rotation() -> None:
    """An SDK-made signature with the newer signing token passes when both are listed."""
    old = "whsec_" + "QUJD" * 8
    verifier = build_verifier("gitlab", (old, SIGNING_TOKEN), None, SIGNED)

    verifier.verify(gitlab_request(**signed_headers(BODY)), TS)


@pytest.mark.parametrize(
    ("options", "request_", "now", "error"),
    [
        ({}, gitlab_request(x_gitlab_token="wrong"), TS, SignatureMismatchError),
        ({}, gitlab_request(x_gitlab_token=TOKEN + " "), TS, SignatureMismatchError),
        ({}, gitlab_request(x_gitlab_token="t\udcff\ud800"), TS, SignatureMismatchError),
        ({}, gitlab_request(), TS, MissingHeaderError),
        ({}, gitlab_request(**signed_headers(BODY)), TS, MissingHeaderError),
        (SIGNED, gitlab_request(x_gitlab_token=TOKEN), TS, MissingHeaderError),
        (SIGNED, gitlab_request(b"{}", **signed_headers(BODY)), TS, SignatureMismatchError),
        (
            SIGNED,
            gitlab_request(**signed_headers(BODY) | {"webhook_signature": "v1"}),
            TS,
            MalformedRequestError,
        ),
        (SIGNED, gitlab_request(**signed_headers(BODY)), TS + 301, TimestampOutOfToleranceError),
        (SIGNED, gitlab_request(**signed_headers(BODY)), TS - 301, TimestampOutOfToleranceError),
    ],
    ids=[
        "wrong-token",
        "token-with-suffix",
        "undecodable-token",
        "missing-token",
        "token-mode-ignores-signature",
        "signed-mode-ignores-token",
        "tampered-body",
        "malformed-signature",
        "too-old",
        "too-new",
    ],
)
def test_refusals(
    options: dict[str, object], request_: Request, now: int, error: type[VerificationError]
) -> None:
    """Each broken request is refused with its own typed error."""
    secret = SIGNING_TOKEN if options else TOKEN
    verifier = build_verifier("gitlab", (secret,), None, options)

    with pytest.raises(error):
        verifier.verify(request_, now)


@pytest.mark.parametrize(
    ("secret", "options"),
    [(TOKEN, {"mode": "hmac"}), ("whsec_not base64!", SIGNED)],
    ids=["unknown-mode", "signing-token-not-base64"],
)
def test_config_errors(secret: str, options: dict[str, object]) -> None:
    """A bad mode, or a signing token that is not ``whsec_`` base64, fails at build time."""
    with pytest.raises(VerifierConfigError):
        build_verifier("gitlab", (secret,), None, options)
