"""SendGrid preset: the SDK's published vector, cryptography-signed batches, refusals."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

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

# sendgrid-python test/unit/test_eventwebhook.py (PROVIDERS.md §2.7).
VECTOR_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw"
    "+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
VECTOR_TS = "1600112502"
VECTOR_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEA"
    "yBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
)
VECTOR_BODY = (
    b'[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address",'
    b'"sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",'
    b'"sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",'
    b'"smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]\r\n'
)
NOW = 1_700_000_000
PRIVATE = ec.derive_private_key(0x5E9D, ec.SECP256R1())
PUBLIC = base64.b64encode(
    PRIVATE.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
BATCH = (
    b'[{"event":"delivered","sg_event_id":"ZGVsaXZlcmVk"},'
    b'{"event":"open","sg_event_id":"b3Blbg"}]\r\n'
)


def sign(body: bytes, ts: str = str(NOW)) -> str:
    """A SendGrid-style signature made with ``cryptography``: base64 DER ECDSA-SHA256."""
    return base64.b64encode(PRIVATE.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def sendgrid_request(body: bytes, signature: str | None, ts: str | None = str(NOW)) -> Request:
    """A SendGrid Event Webhook POST with the given headers."""
    headers = {}
    if signature is not None:
        headers[EventWebhookHeader.SIGNATURE.lower()] = signature
    if ts is not None:
        headers[EventWebhookHeader.TIMESTAMP.lower()] = ts
    return Request(body=body, headers=headers)


def test_sdk_vector_is_accepted_with_first_event_id_and_type() -> None:
    """The SDK's vector verifies here (and in the SDK); id/type are the first event's."""
    verifier = build_verifier("sendgrid", (VECTOR_KEY,), None, {})

    verified = verifier.verify(sendgrid_request(VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TS), NOW)

    assert ("ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA", "dropped") == (
        verified.event_id,
        verified.event_type,
    )
    assert EventWebhook(VECTOR_KEY).verify_signature(
        VECTOR_BODY.decode(), VECTOR_SIGNATURE, VECTOR_TS
    )


def test_cryptography_signature_is_accepted_under_rotation() -> None:
    """A batch signed by the second listed key passes, and the SDK agrees with it."""
    signature = sign(BATCH)
    verifier = build_verifier("sendgrid", (VECTOR_KEY, PUBLIC), None, {})

    verified = verifier.verify(sendgrid_request(BATCH, signature), NOW)

    assert ("ZGVsaXZlcmVk", "delivered") == (verified.event_id, verified.event_type)
    assert EventWebhook(PUBLIC).verify_signature(BATCH.decode(), signature, str(NOW))


def test_no_tolerance_by_default_like_the_sdk() -> None:
    """The SDK checks no timestamp: the 2020 vector still verifies years later."""
    verifier = build_verifier("sendgrid", (VECTOR_KEY,), None, {})

    verifier.verify(sendgrid_request(VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TS), NOW)


@pytest.mark.parametrize("now", [NOW + 301, NOW - 301], ids=["too-old", "too-new"])
def test_configured_tolerance_checks_both_ways(now: int) -> None:
    """With ``tolerance_s`` set, timestamps outside it either way are refused."""
    verifier = build_verifier("sendgrid", (PUBLIC,), 300, {})

    with pytest.raises(TimestampOutOfToleranceError):
        verifier.verify(sendgrid_request(BATCH, sign(BATCH)), now)


def test_signed_non_json_body_has_no_id() -> None:
    """A genuine body that is not a JSON array passes without id or type."""
    verifier = build_verifier("sendgrid", (PUBLIC,), None, {})

    verified = verifier.verify(sendgrid_request(b"{}", sign(b"{}")), NOW)

    assert (None, None) == (verified.event_id, verified.event_type)


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (
            sendgrid_request(VECTOR_BODY.rstrip(), VECTOR_SIGNATURE, VECTOR_TS),
            SignatureMismatchError,
        ),
        (sendgrid_request(VECTOR_BODY, VECTOR_SIGNATURE, "1600112503"), SignatureMismatchError),
        (
            sendgrid_request(VECTOR_BODY, sign(VECTOR_BODY, VECTOR_TS), VECTOR_TS),
            SignatureMismatchError,
        ),
        (
            sendgrid_request(VECTOR_BODY, base64.b64encode(b"\x30\x02junk").decode(), VECTOR_TS),
            SignatureMismatchError,
        ),
        (sendgrid_request(VECTOR_BODY, VECTOR_SIGNATURE, "\udcff\ud800"), SignatureMismatchError),
        (sendgrid_request(VECTOR_BODY, "not base64!", VECTOR_TS), MalformedRequestError),
        (sendgrid_request(VECTOR_BODY, None, VECTOR_TS), MissingHeaderError),
        (sendgrid_request(VECTOR_BODY, VECTOR_SIGNATURE, None), MissingHeaderError),
    ],
    ids=[
        "trailing-crlf-dropped",
        "tampered-timestamp",
        "wrong-key",
        "junk-der",
        "undecodable-timestamp",
        "not-base64",
        "missing-signature",
        "missing-timestamp",
    ],
)
def test_refusals(request_: Request, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("sendgrid", (VECTOR_KEY,), None, {})

    with pytest.raises(error):
        verifier.verify(request_, NOW)


def _der(key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> str:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return base64.b64encode(key.public_bytes(serialization.Encoding.DER, spki)).decode()


@pytest.mark.parametrize(
    "secret",
    [
        "not base64!",
        base64.b64encode(b"not DER").decode(),
        _der(ec.generate_private_key(ec.SECP384R1()).public_key()),
        _der(ed25519.Ed25519PrivateKey.generate().public_key()),
    ],
    ids=["not-base64", "not-der", "p384", "ed25519"],
)
def test_bad_keys_are_config_errors(secret: str) -> None:
    """A key that is not a base64 DER P-256 public key fails at build time."""
    with pytest.raises(VerifierConfigError):
        build_verifier("sendgrid", (secret,), None, {})
