"""Verifications per second for every verifier preset, beside a bare-HMAC baseline.

Run from the repository root: ``python -m bench.verifiers``.

Each preset in ``verifiers.registry.PRESETS`` verifies one valid request with a
~2 KB JSON body, signed here with the provider's scheme (stdlib ``hmac`` and
``cryptography`` only; no provider SDK). The baseline, measured in the same run, is
what a hand-written endpoint does at the least:
``hmac.compare_digest(hmac.new(key, body, sha256).digest(), expected)``.
Ratios are a preset's time per verification over each baseline's: the bare HMAC, and
the bare HMAC plus ``orjson.loads(body)`` (the cost of learning the event id and type
from the body, which ingest pays either way).

A preset the bench cannot sign (no signer below yet, or the signed request is refused)
is listed as skipped with the reason. SNS is timed on ``verify`` with its certificate
already fetched (the gateway fetches and caches it outside the verifier).
The whole run takes about ``BUDGET_S`` seconds per row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from verifiers.errors import VerifierError
from verifiers.model import Request
from verifiers.registry import PRESETS, build_verifier

NOW = 1_700_000_000
BODY_BYTES = 2048
BUDGET_S = 0.5
REPEATS = 5
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


def post(body: bytes, headers: dict[str, str], url: str = URL) -> Request:
    """A POST request as the gateway hands it to a verifier."""
    return Request(body=body, headers=headers, url=url)


# --- one signer per preset -----------------------------------------------------------


def sign_api_key() -> Case:
    """``X-Api-Key`` token."""
    return Case(post(padded(event()), {"x-api-key": SECRET}))


def sign_basic() -> Case:
    """HTTP Basic credentials."""
    credentials = "hooks:" + SECRET
    headers = {"authorization": "Basic " + b64(credentials.encode())}
    return Case(post(padded(event()), headers), secrets=(credentials,))


def sign_calendly() -> Case:
    """``t=…,v1=<hex>`` over ``{t}.{body}``."""
    body = padded({"event": "invitee.created", "payload": {"uri": "https://api.calendly.com/x"}})
    digest = mac("sha256", f"{NOW}.".encode() + body).hex()
    return Case(post(body, {"calendly-webhook-signature": f"t={NOW},v1={digest}"}))


def sign_discord() -> Case:
    """Ed25519 over ``{timestamp}{body}``; the secret is the hex public key."""
    key = ed25519.Ed25519PrivateKey.generate()
    body = padded({"id": "1234567890", "type": 2, "data": {"name": "bench"}})
    signature = key.sign(str(NOW).encode() + body).hex()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    headers = {"x-signature-ed25519": signature, "x-signature-timestamp": str(NOW)}
    return Case(post(body, headers), secrets=(public.hex(),))


def sign_github() -> Case:
    """``sha256=<hex>`` over the body."""
    body = padded(event())
    headers = {
        "x-hub-signature-256": "sha256=" + mac("sha256", body).hex(),
        "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "x-github-event": "push",
    }
    return Case(post(body, headers))


def sign_gitlab() -> Case:
    """``X-Gitlab-Token`` (the default ``token`` mode)."""
    headers = {"x-gitlab-token": SECRET, "x-gitlab-event": "Push Hook"}
    return Case(post(padded({"object_kind": "push"}), headers))


def sign_hmac() -> Case:
    """The generic preset with its defaults: hex HMAC-SHA256 of the body."""
    body = padded(event())
    return Case(
        post(body, {"x-signature": mac("sha256", body).hex()}), options={"header": "X-Signature"}
    )


def sign_hubspot() -> Case:
    """v3: base64 HMAC over ``POST{url}{body}{ms}``."""
    body = padded([{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 123}])
    millis = str(NOW * 1000)
    signature = b64(mac("sha256", f"POST{URL}".encode() + body + millis.encode()))
    headers = {"x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": millis}
    return Case(post(body, headers))


def sign_intercom() -> Case:
    """``sha1=<hex>`` over the body."""
    body = padded({"type": "notification_event", "id": "notif_1", "topic": "user.created"})
    return Case(post(body, {"x-hub-signature": "sha1=" + mac("sha1", body).hex()}))


def sign_linear() -> Case:
    """Hex HMAC of the body, which carries ``webhookTimestamp`` in ms."""
    body = padded({"action": "create", "type": "Issue", "webhookTimestamp": NOW * 1000})
    headers = {"linear-signature": mac("sha256", body).hex(), "linear-delivery": "d-1"}
    return Case(post(body, headers))


def sign_mailgun() -> Case:
    """Hex HMAC of ``{timestamp}{token}`` inside the body."""
    token = "t" * 50
    signature = mac("sha256", f"{NOW}{token}".encode()).hex()
    document = {
        "signature": {"timestamp": str(NOW), "token": token, "signature": signature},
        "event-data": {"id": "ev-1", "event": "delivered"},
    }
    return Case(post(padded(document), {}))


def sign_paddle() -> Case:
    """``ts=…;h1=<hex>`` over ``{ts}:{body}``."""
    body = padded({"event_id": "evt_1", "event_type": "transaction.completed"})
    digest = mac("sha256", f"{NOW}:".encode() + body).hex()
    return Case(post(body, {"paddle-signature": f"ts={NOW};h1={digest}"}))


def sign_razorpay() -> Case:
    """Hex HMAC of the body."""
    body = padded({"entity": "event", "event": "payment.captured"})
    headers = {"x-razorpay-signature": mac("sha256", body).hex(), "x-razorpay-event-id": "e1"}
    return Case(post(body, headers))


def sign_sendgrid() -> Case:
    """ECDSA P-256 over ``{timestamp}{body}``; the secret is the base64 DER public key."""
    key = ec.generate_private_key(ec.SECP256R1())
    body = padded([{"sg_event_id": "sg-1", "event": "delivered"}]) + b"\r\n"
    signature = key.sign(str(NOW).encode() + body, ec.ECDSA(hashes.SHA256()))
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    headers = {
        "x-twilio-email-event-webhook-signature": b64(signature),
        "x-twilio-email-event-webhook-timestamp": str(NOW),
    }
    return Case(post(body, headers), secrets=(b64(public),))


def sign_shopify() -> Case:
    """Base64 HMAC of the body."""
    body = padded({"id": 820982911946154508})
    headers = {
        "x-shopify-hmac-sha256": b64(mac("sha256", body)),
        "x-shopify-topic": "orders/create",
    }
    return Case(post(body, headers))


def sign_slack() -> Case:
    """``v0=<hex>`` over ``v0:{ts}:{body}``."""
    body = padded({"type": "event_callback", "event_id": "Ev1", "event": {"type": "message"}})
    signature = "v0=" + mac("sha256", f"v0:{NOW}:".encode() + body).hex()
    headers = {"x-slack-signature": signature, "x-slack-request-timestamp": str(NOW)}
    return Case(post(body, headers))


def sign_sns() -> Case:
    """RSA-SHA256 (SignatureVersion 2) over the canonical string, self-signed cert."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_url = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-bench.pem"
    message: dict[str, str] = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:bench",
        "Message": "",
        "Timestamp": datetime.fromtimestamp(NOW, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SignatureVersion": "2",
        "SigningCertURL": cert_url,
    }
    message["Message"] = "x" * (BODY_BYTES - len(orjson.dumps(message)) - 400)
    fields = ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
    canonical = "".join(f"{name}\n{message[name]}\n" for name in fields).encode()
    message["Signature"] = b64(key.sign(canonical, padding.PKCS1v15(), hashes.SHA256()))
    pem = self_signed(key).public_bytes(serialization.Encoding.PEM)
    request = Request(body=orjson.dumps(message), headers={}, url=URL, fetched={cert_url: pem})
    return Case(request, secrets=())


def self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """A throwaway certificate for ``key``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime.fromtimestamp(NOW, UTC) - timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


def sign_square() -> Case:
    """Base64 HMAC of ``{url}{body}``."""
    body = padded({"event_id": "ac3ac95b", "type": "payment.updated"})
    return Case(
        post(body, {"x-square-hmacsha256-signature": b64(mac("sha256", URL.encode() + body))})
    )


def standard_headers(prefix: str) -> tuple[Case, str]:
    """Standard Webhooks headers under ``prefix`` (``webhook`` or ``svix``), and the secret."""
    raw_key = bytes(range(32))
    secret = "whsec_" + b64(raw_key)
    body = padded(event())
    msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    signature = b64(mac("sha256", f"{msg_id}.{NOW}.".encode() + body, raw_key))
    headers = {
        f"{prefix}-id": msg_id,
        f"{prefix}-timestamp": str(NOW),
        f"{prefix}-signature": f"v1,{signature}",
    }
    return Case(post(body, headers), secrets=(secret,)), secret


def sign_standard_webhooks() -> Case:
    """``v1,<base64>`` over ``{id}.{ts}.{body}`` with the decoded ``whsec_`` key."""
    return standard_headers("webhook")[0]


def sign_stripe() -> Case:
    """``t=…,v1=<hex>`` over ``{t}.{body}``, the ``whsec_`` secret used as text."""
    secret = "whsec_" + SECRET
    body = padded(event())
    digest = mac("sha256", f"{NOW}.".encode() + body, secret.encode()).hex()
    return Case(post(body, {"stripe-signature": f"t={NOW},v1={digest}"}), secrets=(secret,))


def sign_svix() -> Case:
    """Standard Webhooks under ``svix-*`` headers."""
    return standard_headers("svix")[0]


def sign_twilio() -> Case:
    """A JSON body: base64 HMAC-SHA1 of the URL carrying ``bodySHA256``."""
    body = padded({"MessageSid": "SM1", "MessageStatus": "delivered"})
    url = f"{URL}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    headers = {
        "x-twilio-signature": b64(mac("sha1", url.encode())),
        "i-twilio-idempotency-token": "i",
    }
    return Case(post(body, headers, url))


def sign_twitch() -> Case:
    """``sha256=<hex>`` over ``{message id}{timestamp}{body}``."""
    body = padded({"subscription": {"type": "channel.follow"}, "event": {"user_id": "1"}})
    stamp = datetime.fromtimestamp(NOW, UTC).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    message_id = "befa7b53-d79d-478f-86b9-120f112b044e"
    signature = "sha256=" + mac("sha256", (message_id + stamp).encode() + body).hex()
    headers = {
        "twitch-eventsub-message-id": message_id,
        "twitch-eventsub-message-timestamp": stamp,
        "twitch-eventsub-message-signature": signature,
        "twitch-eventsub-message-type": "notification",
        "twitch-eventsub-subscription-type": "channel.follow",
    }
    return Case(post(body, headers))


def sign_typeform() -> Case:
    """``sha256=<base64>`` over the body."""
    body = padded({"event_id": "01H", "event_type": "form_response"})
    return Case(post(body, {"typeform-signature": "sha256=" + b64(mac("sha256", body))}))


def sign_zoom() -> Case:
    """``v0=<hex>`` over ``v0:{ts}:{body}``."""
    body = padded({"event": "meeting.started", "event_ts": NOW * 1000, "payload": {}})
    signature = "v0=" + mac("sha256", f"v0:{NOW}:".encode() + body).hex()
    return Case(post(body, {"x-zm-signature": signature, "x-zm-request-timestamp": str(NOW)}))


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


def seconds_per_call(call: Callable[[], object]) -> float:
    """The best per-call time of ``call`` over ``REPEATS`` runs filling ``BUDGET_S``."""
    loops, elapsed = 1, 0.0
    while elapsed < BUDGET_S / (REPEATS + 1):
        loops *= 2
        elapsed = run(call, loops)
    per_run = max(1, int(loops * (BUDGET_S / (REPEATS + 1)) / elapsed))
    return min(run(call, per_run) / per_run for _ in range(REPEATS))


def run(call: Callable[[], object], loops: int) -> float:
    """Seconds taken by ``loops`` calls of ``call``."""
    start = time.perf_counter()
    for _ in range(loops):
        call()
    return time.perf_counter() - start


def baseline(*, parse_json: bool) -> float:
    """Seconds per bare ``compare_digest(hmac.new(key, body, sha256).digest(), expected)``.

    With ``parse_json`` the baseline also parses the body with orjson, as any endpoint
    must to learn the event's id and type; presets that read those from the body pay it.
    """
    key, body = SECRET.encode(), padded(event())
    expected = hmac.new(key, body, hashlib.sha256).digest()

    def verify() -> bool:
        return hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), expected)

    def verify_and_parse() -> bool:
        orjson.loads(body)
        return verify()

    return seconds_per_call(verify_and_parse if parse_json else verify)


def measure(name: str) -> float | str:
    """Seconds per verification for preset ``name``, or why it was skipped."""
    signer = SIGNERS.get(name)
    if signer is None:
        return "skipped (no signer in the bench)"
    case = signer()
    try:
        verifier = build_verifier(name, case.secrets, None, case.options)
        verifier.verify(case.request, NOW)
    except VerifierError as e:
        return f"skipped ({type(e).__name__}: {e})"
    return seconds_per_call(lambda: verifier.verify(case.request, NOW))


def main() -> None:
    """Measure the baseline and every registered preset; print the table."""
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"body ~{BODY_BYTES} B JSON; best of {REPEATS} runs, ~{BUDGET_S} s per row\n")
    base, base_json = baseline(parse_json=False), baseline(parse_json=True)
    rows: list[tuple[str, ...]] = [
        ("baseline: bare hmac sha256", f"{1 / base:,.0f}", "1.00", f"{base / base_json:.2f}"),
        (
            "baseline + orjson.loads(body)",
            f"{1 / base_json:,.0f}",
            f"{base_json / base:.2f}",
            "1.00",
        ),
    ]
    for name in sorted(PRESETS):
        result = measure(name)
        if isinstance(result, str):
            rows.append((name, result))
        else:
            rows.append(
                (name, f"{1 / result:,.0f}", f"{result / base:.2f}", f"{result / base_json:.2f}")
            )
    width = max(len(row[0]) for row in rows)
    print(f"{'preset':<{width}}  {'verifications/s':>15}  {'x hmac':>7}  {'x hmac+json':>11}")
    for row in rows:
        if len(row) == 4:
            print(f"{row[0]:<{width}}  {row[1]:>15}  {row[2]:>7}  {row[3]:>11}")
        else:
            print(f"{row[0]:<{width}}  {row[1]}")


if __name__ == "__main__":
    main()
