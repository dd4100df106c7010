"""Stripe preset: stripe-python-made headers, the one-sided window, downgrades, refusals."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
import stripe

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    UnsupportedVersionError,
    VerificationError,
    Verified,
    Verifier,
    build_verifier,
)

NOW = 1_700_000_000.0
SECRET = "whsec_test_secret"
BODY = b'{"id": "evt_1NG8Du2eZvKYlo2CUI6D1q7d", "object": "event", "type": "invoice.paid"}'


def v1(secret: str, timestamp: int, body: bytes) -> str:
    """Stripe's v1 signature, computed with the stdlib (the secret is not base64-decoded)."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def within_window(verifier: Verifier, request: Request, now: float = NOW) -> bool:
    """Whether ``request`` verifies at ``now``; False if refused for its timestamp only."""
    try:
        verifier.verify(request, now)
    except TimestampOutOfToleranceError:
        return False
    return True


def stripe_request(body: bytes, header: str | None) -> Request:
    """A Stripe delivery with the given ``Stripe-Signature`` header."""
    headers = {} if header is None else {"stripe-signature": header}
    return Request(body=body, headers=headers)


def test_stripe_python_header_is_accepted_with_id_and_type() -> None:
    """A header from stripe-python's own signer verifies and yields body id and type."""
    header = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), SECRET, timestamp=int(NOW)
    )
    verifier = build_verifier("stripe", (SECRET,), None, {})

    verified = verifier.verify(stripe_request(BODY, header), NOW)

    assert Verified(event_id="evt_1NG8Du2eZvKYlo2CUI6D1q7d", event_type="invoice.paid") == verified


def test_stripe_python_accepts_the_headers_these_tests_build() -> None:
    """stripe-python's ``verify_header`` agrees with the stdlib signer used below."""
    header = f"t={int(NOW)},v1={v1('old', int(NOW), BODY)},v1={v1(SECRET, int(NOW), BODY)}"

    assert stripe.WebhookSignature.verify_header(BODY, header, SECRET, tolerance=None)


@pytest.mark.parametrize(
    ("secrets", "header"),
    [
        (
            ("whsec_old", SECRET),
            f"t={int(NOW)},v1={v1(SECRET, int(NOW), BODY)}",
        ),
        (
            (SECRET,),
            f"t={int(NOW)},v1={v1('whsec_old', int(NOW), BODY)},v1={v1(SECRET, int(NOW), BODY)}",
        ),
        (
            (SECRET,),
            "t={},v1=not-hex,v1={}".format(
                int(NOW),
                stripe.WebhookSignature._compute_signature(f"{int(NOW)}.{BODY.decode()}", SECRET),
            ),
        ),
    ],
    ids=["second-secret", "second-signature", "junk-beside-good"],
)
def test_rotation(secrets: tuple[str, ...], header: str) -> None:
    """Every v1 signature is tried against every configured secret."""
    verifier = build_verifier("stripe", secrets, None, {})

    verified = verifier.verify(stripe_request(BODY, header), NOW)

    assert Verified(event_id="evt_1NG8Du2eZvKYlo2CUI6D1q7d", event_type="invoice.paid") == verified


@pytest.mark.parametrize(
    ("age_s", "tolerance_s", "accepted"),
    [
        (300, None, True),
        (301, None, False),
        (11, 10, False),
        (-86_400, None, True),
    ],
    ids=["edge-of-window", "too-old", "configured-window", "future-accepted-like-the-sdk"],
)
def test_window_is_one_sided(age_s: int, tolerance_s: float | None, accepted: bool) -> None:
    """Old timestamps are refused past the window; future ones pass, as in stripe-python."""
    timestamp = int(NOW) - age_s
    header = f"t={timestamp},v1={v1(SECRET, timestamp, BODY)}"
    verifier = build_verifier("stripe", (SECRET,), tolerance_s, {})

    assert accepted == within_window(verifier, stripe_request(BODY, header))


@pytest.mark.parametrize("age_s", [-86_400, 200, 400], ids=["future", "recent", "old"])
def test_window_direction_matches_stripe_python(age_s: int) -> None:
    """stripe-python (which reads the real clock) and the preset accept the same timestamps."""
    now = time.time()
    timestamp = int(now) - age_s
    header = f"t={timestamp},v1={v1(SECRET, timestamp, BODY)}"
    try:
        sdk_accepts = stripe.WebhookSignature.verify_header(BODY, header, SECRET, tolerance=300)
    except stripe.SignatureVerificationError:
        sdk_accepts = False

    verifier = build_verifier("stripe", (SECRET,), None, {})

    assert sdk_accepts == within_window(verifier, stripe_request(BODY, header), now)


def test_v0_only_is_a_refused_downgrade() -> None:
    """A header carrying only a (valid) v0 signature is refused: Stripe says ignore v0."""
    header = f"t={int(NOW)},v0={v1(SECRET, int(NOW), BODY)}"
    verifier = build_verifier("stripe", (SECRET,), None, {})

    with pytest.raises(UnsupportedVersionError):
        verifier.verify(stripe_request(BODY, header), NOW)


def test_non_json_body_is_accepted_without_id() -> None:
    """A signed body that is not JSON verifies; id and type are left to the gateway's fallback."""
    body = b"\xff\xfe not json"
    verifier = build_verifier("stripe", (SECRET,), None, {})

    verified = verifier.verify(
        stripe_request(body, f"t={int(NOW)},v1={v1(SECRET, int(NOW), body)}"), NOW
    )

    assert Verified() == verified


GOOD = v1(SECRET, int(NOW), BODY)


@pytest.mark.parametrize(
    ("body", "header", "error"),
    [
        (BODY, None, MissingHeaderError),
        (BODY, "garbage", MalformedRequestError),
        (BODY, f"v1={GOOD}", MalformedRequestError),
        (BODY, f"t={int(NOW)},t={int(NOW)},v1={GOOD}", MalformedRequestError),
        (BODY, f"t=soon,v1={GOOD}", MalformedRequestError),
        (BODY, f"t=--5,v1={GOOD}", MalformedRequestError),
        (BODY, f"t={'9' * 40},v1={GOOD}", MalformedRequestError),
        (BODY, f"t={int(NOW)},v1=zz", MalformedRequestError),
        (BODY + b" ", f"t={int(NOW)},v1={GOOD}", SignatureMismatchError),
        (BODY, f"t={int(NOW) + 1},v1={GOOD}", SignatureMismatchError),
        (BODY, f"t={int(NOW)},v1={v1('whsec_wrong', int(NOW), BODY)}", SignatureMismatchError),
        (b"\xff", f"t={int(NOW)},v1={GOOD}", SignatureMismatchError),
    ],
    ids=[
        "missing",
        "junk",
        "no-timestamp",
        "two-timestamps",
        "timestamp-not-a-number",
        "timestamp-double-minus",
        "timestamp-huge",
        "signature-not-hex",
        "tampered-body",
        "tampered-timestamp",
        "wrong-secret",
        "non-utf8-body",
    ],
)
def test_refusals(body: bytes, header: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("stripe", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(stripe_request(body, header), NOW)
