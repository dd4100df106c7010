"""SNS preset: envelopes signed with a self-signed AWS-like certificate, URL checks, refusals."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from verifiers import (
    Handshake,
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    UnsupportedVersionError,
    VerificationError,
    Verified,
    VerifierConfigError,
    build_verifier,
)
from verifiers.presets.sns import SnsVerifier

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC).timestamp()
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000.pem"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:orders"
SUBSCRIBE_URL = (
    "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
    f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425dacbba"
)


def certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    """A self-signed PEM certificate for ``key``, standing in for AWS's signing cert."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = certificate(KEY)


def canonical(message: dict[str, Any]) -> bytes:
    """The string SNS signs, built independently of the preset from AWS's field lists."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{n}\n{message[n]}\n" for n in names if message.get(n) is not None).encode()


def envelope(
    kind: str = "Notification",
    version: str = "1",
    key: rsa.RSAPrivateKey = KEY,
    **fields: Any,
) -> dict[str, Any]:
    """An SNS envelope of ``kind`` signed with ``key`` (``fields`` override before signing)."""
    message: dict[str, Any] = {
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": '{"order": 7, "note": "line\\nbreak é"}',
        "Timestamp": "2026-11-02T09:59:30.000Z",
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
    }
    if kind != "Notification":
        message |= {"SubscribeURL": SUBSCRIBE_URL, "Token": "2336412f37fb687f5d51e6e2425dacbba"}
    message |= fields
    # SNS SignatureVersion 1 is RSA-SHA1 by definition; the preset must still accept it.
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303
    signature = key.sign(canonical(message), padding.PKCS1v15(), digest)
    return message | {"Signature": base64.b64encode(signature).decode()}


def sns_request(message: dict[str, Any] | bytes, fetched: bytes | None = PEM) -> Request:
    """A POST of ``message`` with the certificate the gateway fetched for it."""
    body = message if isinstance(message, bytes) else orjson.dumps(message)
    return Request(
        body=body,
        headers={"x-amz-sns-message-type": "Notification", "content-type": "text/plain"},
        fetched={} if fetched is None else {CERT_URL: fetched},
    )


def verifier(tolerance_s: float | None = None, **options: object) -> SnsVerifier:
    """The sns preset built with no secrets, as sources configure it."""
    built = build_verifier("sns", (), tolerance_s, options)
    assert isinstance(built, SnsVerifier)
    return built


@pytest.mark.parametrize(
    ("version", "fields"),
    [
        ("1", {}),
        ("2", {}),
        ("1", {"Subject": "Order placed"}),
        ("2", {"Subject": ""}),
        ("2", {"Subject": None}),
    ],
    ids=["sha1", "sha256", "with-subject", "empty-subject", "null-subject"],
)
def test_notification_is_accepted_with_message_id_and_type(
    version: str, fields: dict[str, str | None]
) -> None:
    """A signed notification verifies (SHA1 for v1, SHA256 for v2); id is ``MessageId``."""
    verified = verifier().verify(sns_request(envelope(version=version, **fields)), NOW)

    assert ("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "Notification") == (
        verified.event_id,
        verified.event_type,
    )


def test_subscription_confirmation_asks_the_gateway_to_confirm() -> None:
    """A genuine SubscriptionConfirmation is a 200 handshake carrying ``SubscribeURL``."""
    verified = verifier().verify(sns_request(envelope("SubscriptionConfirmation")), NOW)

    assert Verified(handshake=Handshake(status=200, confirm_url=SUBSCRIBE_URL)) == verified


def test_unsubscribe_confirmation_is_stored_as_an_event() -> None:
    """An UnsubscribeConfirmation is verified with its own field list and kept as an event."""
    verified = verifier().verify(sns_request(envelope("UnsubscribeConfirmation")), NOW)

    assert "UnsubscribeConfirmation" == verified.event_type


def test_urls_to_fetch_names_the_signing_certificate() -> None:
    """The verifier asks the gateway for exactly the envelope's certificate URL."""
    assert (CERT_URL,) == verifier().urls_to_fetch(sns_request(envelope(), fetched=None))


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com@evil.example/cert.pem",
        "https://evil.example\\@sns.eu-west-1.amazonaws.com/cert.pem",
        "https://s3.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com/cert.txt",
        "https://sns.eu-west-1.amazonaws.com/cert.pem?x=.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/cert.pem",
        "https://sns.eu-west-1.amazonaws.com:port/cert.pem",
        "https://[sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com/ cert.pem",
    ],
    ids=[
        "http",
        "suffix-host",
        "host-in-path",
        "userinfo",
        "backslash",
        "other-service",
        "not-pem",
        "query",
        "port",
        "bad-port",
        "bad-brackets",
        "space",
    ],
)
def test_certificate_urls_outside_aws_sns_are_refused(url: str) -> None:
    """Only https ``sns.<region>.amazonaws.com`` ``.pem`` URLs are ever fetched."""
    request = sns_request(envelope(SigningCertURL=url), fetched=None)

    with pytest.raises(MalformedRequestError):
        verifier().urls_to_fetch(request)


def test_china_region_certificate_url_is_allowed() -> None:
    """The ``.amazonaws.com.cn`` partition is an AWS SNS host too."""
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem"

    assert (url,) == verifier().urls_to_fetch(sns_request(envelope(SigningCertURL=url)))


def test_topic_allow_list() -> None:
    """With ``topic_arns`` set, only listed topics pass (others fail before any fetch)."""
    other = envelope(TopicArn="arn:aws:sns:eu-west-1:999999999999:attacker")

    assert (
        "Notification"
        == verifier(topic_arns=[TOPIC]).verify(sns_request(envelope()), NOW).event_type
    )
    with pytest.raises(SignatureMismatchError):
        verifier(topic_arns=[TOPIC]).urls_to_fetch(sns_request(other, fetched=None))
    with pytest.raises(SignatureMismatchError):
        verifier(topic_arns=TOPIC).verify(sns_request(other), NOW)


def test_no_tolerance_by_default() -> None:
    """AWS documents no window and retries keep the Timestamp: a day-old message passes."""
    verifier().verify(sns_request(envelope()), NOW + 86_400)


@pytest.mark.parametrize(
    ("timestamp", "error"),
    [
        ("2026-11-02T09:50:00.000Z", TimestampOutOfToleranceError),
        ("2026-11-02T10:10:00.000Z", TimestampOutOfToleranceError),
        ("2026-11-02T09:59:00", None),
        ("yesterday", MalformedRequestError),
    ],
    ids=["too-old", "too-new", "naive-is-utc", "not-iso"],
)
def test_configured_tolerance_checks_timestamp(
    timestamp: str, error: type[VerificationError] | None
) -> None:
    """With ``tolerance_s`` set, the signed ISO 8601 ``Timestamp`` is checked both ways."""
    request = sns_request(envelope(Timestamp=timestamp))

    if error is None:
        verifier(300).verify(request, NOW)
    else:
        with pytest.raises(error):
            verifier(300).verify(request, NOW)


def _tampered(**changes: str) -> dict[str, Any]:
    return envelope() | changes


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (sns_request(_tampered(Message="{}")), SignatureMismatchError),
        (sns_request(_tampered(Subject="added later")), SignatureMismatchError),
        (sns_request(envelope(key=OTHER_KEY)), SignatureMismatchError),
        (sns_request(_tampered(SignatureVersion="2")), SignatureMismatchError),
        (sns_request(envelope(), fetched=certificate(OTHER_KEY)), SignatureMismatchError),
        (sns_request(envelope(), fetched=None), MissingHeaderError),
        (sns_request(envelope(), fetched=b"<html>not a cert</html>"), MalformedRequestError),
        (
            sns_request(envelope(), fetched=certificate(ec.generate_private_key(ec.SECP256R1()))),
            MalformedRequestError,
        ),
        (sns_request(_tampered(SignatureVersion="3")), UnsupportedVersionError),
        (sns_request(_tampered(Type="Surprise")), UnsupportedVersionError),
        (sns_request(_tampered(Signature="not base64!")), MalformedRequestError),
        (sns_request(envelope() | {"MessageId": 7}), MalformedRequestError),
        (
            sns_request({k: v for k, v in envelope().items() if k != "Signature"}),
            MissingHeaderError,
        ),
        (sns_request({k: v for k, v in envelope().items() if k != "TopicArn"}), MissingHeaderError),
        (sns_request(b"not json"), MalformedRequestError),
        (sns_request(b"[]"), MalformedRequestError),
        (
            sns_request(
                envelope(
                    "SubscriptionConfirmation",
                    SubscribeURL="https://evil.example/?Action=ConfirmSubscription",
                )
            ),
            MalformedRequestError,
        ),
    ],
    ids=[
        "tampered-message",
        "subject-added",
        "wrong-key",
        "version-swapped",
        "other-certificate",
        "certificate-not-fetched",
        "certificate-junk",
        "certificate-not-rsa",
        "unknown-version",
        "unknown-type",
        "signature-not-base64",
        "field-not-string",
        "missing-signature",
        "missing-topic",
        "not-json",
        "not-an-object",
        "subscribe-url-off-aws",
    ],
)
def test_refusals(request_: Request, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    with pytest.raises(error):
        verifier().verify(request_, NOW)


@pytest.mark.parametrize("value", [[""], [1], {"a": TOPIC}], ids=["empty", "number", "mapping"])
def test_bad_topic_arns_option(value: object) -> None:
    """``topic_arns`` must be an ARN or a list of ARNs."""
    with pytest.raises(VerifierConfigError):
        build_verifier("sns", (), None, {"topic_arns": value})
