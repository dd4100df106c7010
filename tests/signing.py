"""A valid signed request for every verifier preset, at a chosen time and URL.

Shared by the gateway tests and ``bench/verifiers.py``. Signatures are made here with
stdlib ``hmac`` and ``cryptography`` in each provider's scheme; the verifier tests hold
the SDK-made vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from verifiers.model import Request

NOW = 1_700_000_000
BODY_BYTES = 2048
SECRET = "bench-secret-0123456789abcdef"
URL = "https://hooks.example.com/ingest/bench"


@dataclass(frozen=True)
class Case:
    """A valid signed request for one preset, with the source settings that accept it."""

    request: Request
    secrets: tuple[str, ...] = (SECRET,)
    options: dict[str, object] = field(default_factory=dict)


def padded(document: dict[str, Any] | list[Any], size: int = BODY_BYTES) -> bytes:
    """``document`` as JSON, grown to ``size`` bytes with a ``padding`` string."""
    target = document[0] if isinstance(document, list) else document
    assert isinstance(target, dict)
    target["padding"] = ""
    short = len(orjson.dumps(document))
    target["padding"] = "x" * max(0, size - short)
    return orjson.dumps(document)


def event(**extra: object) -> dict[str, object]:
    """A typical event document with the given fields."""
    return {"id": "evt_1", "type": "invoice.paid", "created": NOW, **extra}


def mac(algorithm: str, message: bytes, key: bytes = SECRET.encode()) -> bytes:
    """The raw HMAC of ``message``."""
    return hmac.new(key, message, algorithm).digest()


def b64(raw: bytes) -> str:
    """Standard padded base64 text."""
    return base64.b64encode(raw).decode()


def post(body: bytes, headers: dict[str, str], url: str) -> Request:
    """A POST request as the gateway hands it to a verifier."""
    return Request(body=body, headers=headers, url=url)


# --- one signer per preset -----------------------------------------------------------


def sign_api_key(now: int = NOW, url: str = URL) -> Case:
    """``X-Api-Key`` token."""
    return Case(post(padded(event()), {"x-api-key": SECRET}, url))


def sign_basic(now: int = NOW, url: str = URL) -> Case:
    """HTTP Basic credentials."""
    credentials = "hooks:" + SECRET
    headers = {"authorization": "Basic " + b64(credentials.encode())}
    return Case(post(padded(event()), headers, url), secrets=(credentials,))


def sign_calendly(now: int = NOW, url: str = URL) -> Case:
    """``t=…,v1=<hex>`` over ``{t}.{body}``."""
    body = padded({"event": "invitee.created", "payload": {"uri": "https://api.calendly.com/x"}})
    digest = mac("sha256", f"{now}.".encode() + body).hex()
    return Case(post(body, {"calendly-webhook-signature": f"t={now},v1={digest}"}, url))


def sign_discord(now: int = NOW, url: str = URL) -> Case:
    """Ed25519 over ``{timestamp}{body}``; the secret is the hex public key."""
    # Fixed keys: a source's configured public key must match every signed request.
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    body = padded({"id": "1234567890", "type": 2, "data": {"name": "bench"}})
    signature = key.sign(str(now).encode() + body).hex()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    headers = {"x-signature-ed25519": signature, "x-signature-timestamp": str(now)}
    return Case(post(body, headers, url), secrets=(public.hex(),))


def sign_github(now: int = NOW, url: str = URL) -> Case:
    """``sha256=<hex>`` over the body."""
    body = padded(event())
    headers = {
        "x-hub-signature-256": "sha256=" + mac("sha256", body).hex(),
        "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "x-github-event": "push",
    }
    return Case(post(body, headers, url))


def sign_gitlab(now: int = NOW, url: str = URL) -> Case:
    """``X-Gitlab-Token`` (the default ``token`` mode)."""
    headers = {"x-gitlab-token": SECRET, "x-gitlab-event": "Push Hook"}
    return Case(post(padded({"object_kind": "push"}), headers, url))


def sign_hmac(now: int = NOW, url: str = URL) -> Case:
    """The generic preset with its defaults: hex HMAC-SHA256 of the body."""
    body = padded(event())
    return Case(
        post(body, {"x-signature": mac("sha256", body).hex()}, url),
        options={"header": "X-Signature"},
    )


def sign_hubspot(now: int = NOW, url: str = URL) -> Case:
    """v3: base64 HMAC over ``POST{url}{body}{ms}``."""
    body = padded([{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 123}])
    millis = str(now * 1000)
    signature = b64(mac("sha256", f"POST{url}".encode() + body + millis.encode()))
    headers = {"x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": millis}
    return Case(post(body, headers, url))


def sign_intercom(now: int = NOW, url: str = URL) -> Case:
    """``sha1=<hex>`` over the body."""
    body = padded({"type": "notification_event", "id": "notif_1", "topic": "user.created"})
    return Case(post(body, {"x-hub-signature": "sha1=" + mac("sha1", body).hex()}, url))


def sign_linear(now: int = NOW, url: str = URL) -> Case:
    """Hex HMAC of the body, which carries ``webhookTimestamp`` in ms."""
    body = padded({"action": "create", "type": "Issue", "webhookTimestamp": now * 1000})
    headers = {"linear-signature": mac("sha256", body).hex(), "linear-delivery": "d-1"}
    return Case(post(body, headers, url))


def sign_mailgun(now: int = NOW, url: str = URL) -> Case:
    """Hex HMAC of ``{timestamp}{token}`` inside the body."""
    token = "t" * 50
    signature = mac("sha256", f"{now}{token}".encode()).hex()
    document = {
        "signature": {"timestamp": str(now), "token": token, "signature": signature},
        "event-data": {"id": "ev-1", "event": "delivered"},
    }
    return Case(post(padded(document), {}, url))


def sign_paddle(now: int = NOW, url: str = URL) -> Case:
    """``ts=…;h1=<hex>`` over ``{ts}:{body}``."""
    body = padded({"event_id": "evt_1", "event_type": "transaction.completed"})
    digest = mac("sha256", f"{now}:".encode() + body).hex()
    return Case(post(body, {"paddle-signature": f"ts={now};h1={digest}"}, url))


def sign_razorpay(now: int = NOW, url: str = URL) -> Case:
    """Hex HMAC of the body."""
    body = padded({"entity": "event", "event": "payment.captured"})
    headers = {"x-razorpay-signature": mac("sha256", body).hex(), "x-razorpay-event-id": "e1"}
    return Case(post(body, headers, url))


def sign_sendgrid(now: int = NOW, url: str = URL) -> Case:
    """ECDSA P-256 over ``{timestamp}{body}``; the secret is the base64 DER public key."""
    key = ec.derive_private_key(0x5EED, ec.SECP256R1())
    body = padded([{"sg_event_id": "sg-1", "event": "delivered"}]) + b"\r\n"
    signature = key.sign(str(now).encode() + body, ec.ECDSA(hashes.SHA256()))
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    headers = {
        "x-twilio-email-event-webhook-signature": b64(signature),
        "x-twilio-email-event-webhook-timestamp": str(now),
    }
    return Case(post(body, headers, url), secrets=(b64(public),))


def sign_shopify(now: int = NOW, url: str = URL) -> Case:
    """Base64 HMAC of the body."""
    body = padded({"id": 820982911946154508})
    headers = {
        "x-shopify-hmac-sha256": b64(mac("sha256", body)),
        "x-shopify-topic": "orders/create",
    }
    return Case(post(body, headers, url))


def sign_slack(now: int = NOW, url: str = URL) -> Case:
    """``v0=<hex>`` over ``v0:{ts}:{body}``."""
    body = padded({"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}})
    signature = "v0=" + mac("sha256", f"v0:{now}:".encode() + body).hex()
    headers = {"x-slack-signature": signature, "x-slack-request-timestamp": str(now)}
    return Case(post(body, headers, url))


def sign_sns(now: int = NOW, url: str = URL) -> Case:
    """RSA-SHA256 (SignatureVersion 2) over the canonical string, self-signed cert."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_url = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-bench.pem"
    message: dict[str, str] = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:bench",
        "Message": "",
        "Timestamp": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SignatureVersion": "2",
        "SigningCertURL": cert_url,
    }
    message["Message"] = "x" * (BODY_BYTES - len(orjson.dumps(message)) - 400)
    fields = ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
    canonical = "".join(f"{name}\n{message[name]}\n" for name in fields).encode()
    message["Signature"] = b64(key.sign(canonical, padding.PKCS1v15(), hashes.SHA256()))
    pem = self_signed(key).public_bytes(serialization.Encoding.PEM)
    request = Request(body=orjson.dumps(message), headers={}, url=url, fetched={cert_url: pem})
    return Case(request, secrets=())


def self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """A throwaway certificate for ``key``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime.fromtimestamp(NOW, UTC) - timedelta(days=3650)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=7300))
        .sign(key, hashes.SHA256())
    )


def sign_square(now: int = NOW, url: str = URL) -> Case:
    """Base64 HMAC of ``{url}{body}``."""
    body = padded({"event_id": "ac3ac95b", "type": "payment.updated"})
    return Case(
        post(
            body,
            {"x-square-hmacsha256-signature": b64(mac("sha256", url.encode() + body))},
            url,
        )
    )


def standard_headers(prefix: str, now: int = NOW, url: str = URL) -> tuple[Case, str]:
    """Standard Webhooks headers under ``prefix`` (``webhook`` or ``svix``), and the secret."""
    raw_key = bytes(range(32))
    secret = "whsec_" + b64(raw_key)
    body = padded(event())
    msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    signature = b64(mac("sha256", f"{msg_id}.{now}.".encode() + body, raw_key))
    headers = {
        f"{prefix}-id": msg_id,
        f"{prefix}-timestamp": str(now),
        f"{prefix}-signature": f"v1,{signature}",
    }
    return Case(post(body, headers, url), secrets=(secret,)), secret


def sign_standard_webhooks(now: int = NOW, url: str = URL) -> Case:
    """``v1,<base64>`` over ``{id}.{ts}.{body}`` with the decoded ``whsec_`` key."""
    return standard_headers("webhook", now, url)[0]


def sign_stripe(now: int = NOW, url: str = URL) -> Case:
    """``t=…,v1=<hex>`` over ``{t}.{body}``, the ``whsec_`` secret used as text."""
    secret = "whsec_" + SECRET
    body = padded(event())
    digest = mac("sha256", f"{now}.".encode() + body, secret.encode()).hex()
    return Case(post(body, {"stripe-signature": f"t={now},v1={digest}"}, url), secrets=(secret,))


def sign_svix(now: int = NOW, url: str = URL) -> Case:
    """Standard Webhooks under ``svix-*`` headers."""
    return standard_headers("svix", now, url)[0]


def sign_twilio(now: int = NOW, url: str = URL) -> Case:
    """A JSON body: base64 HMAC-SHA1 of the url carrying ``bodySHA256``."""
    body = padded({"MessageSid": "SM1", "MessageStatus": "delivered"})
    url = f"{url}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    headers = {
        "x-twilio-signature": b64(mac("sha1", url.encode())),
        "i-twilio-idempotency-token": "i",
    }
    return Case(post(body, headers, url))


def sign_twitch(now: int = NOW, url: str = URL) -> Case:
    """``sha256=<hex>`` over ``{message id}{timestamp}{body}``."""
    body = padded({"subscription": {"type": "channel.follow"}, "event": {"user_id": "1"}})
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    message_id = "befa7b53-d79d-478f-86b9-120f112b044e"
    signature = "sha256=" + mac("sha256", (message_id + stamp).encode() + body).hex()
    headers = {
        "twitch-eventsub-message-id": message_id,
        "twitch-eventsub-message-timestamp": stamp,
        "twitch-eventsub-message-signature": signature,
        "twitch-eventsub-message-type": "notification",
        "twitch-eventsub-subscription-type": "channel.follow",
    }
    return Case(post(body, headers, url))


def sign_typeform(now: int = NOW, url: str = URL) -> Case:
    """``sha256=<base64>`` over the body."""
    body = padded({"event_id": "01H", "event_type": "form_response"})
    return Case(post(body, {"typeform-signature": "sha256=" + b64(mac("sha256", body))}, url))


def sign_zoom(now: int = NOW, url: str = URL) -> Case:
    """``v0=<hex>`` over ``v0:{ts}:{body}``."""
    body = padded({"event": "meeting.started", "event_ts": now * 1000, "payload": {}})
    signature = "v0=" + mac("sha256", f"v0:{now}:".encode() + body).hex()
    return Case(post(body, {"x-zm-signature": signature, "x-zm-request-timestamp": str(now)}, url))


SIGNERS: dict[str, Callable[[], Case]] = {
    "api-key": sign_api_key,
    "basic": sign_basic,
    "calendly": sign_calendly,
    "discord": sign_discord,
    "github": sign_github,
    "gitlab": sign_gitlab,
    "hmac": sign_hmac,
    "hubspot": sign_hubspot,
    "intercom": sign_intercom,
    "linear": sign_linear,
    "mailgun": sign_mailgun,
    "paddle": sign_paddle,
    "razorpay": sign_razorpay,
    "sendgrid": sign_sendgrid,
    "shopify": sign_shopify,
    "slack": sign_slack,
    "sns": sign_sns,
    "square": sign_square,
    "standard-webhooks": sign_standard_webhooks,
    "stripe": sign_stripe,
    "svix": sign_svix,
    "twilio": sign_twilio,
    "twitch": sign_twitch,
    "typeform": sign_typeform,
    "zoom": sign_zoom,
}


# --- timing ----------------------------------------------------------------------------
