"""Calendly preset: stdlib-signed deliveries, the 180 s one-sided window, the composite id."""

from __future__ import annotations

import hashlib
import hmac

import pytest

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

NOW = 1_700_000_000.0
T = int(NOW)
SECRET = "calendly-signing-key"
INVITEE = "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAA"
BODY = (
    b'{"event": "invitee.created", "created_at": "2023-11-14T22:13:20.000000Z",'
    b' "payload": {"uri": "' + INVITEE.encode() + b'", "status": "active"}}'
)


def v1(secret: str, timestamp: int, body: bytes) -> str:
    """Calendly's v1 signature: hex HMAC-SHA256 of ``{t}.{body}``, by the stdlib."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def calendly_request(body: bytes, header: str | None) -> Request:
    """A Calendly delivery with the given ``Calendly-Webhook-Signature`` header."""
    headers = {} if header is None else {"calendly-webhook-signature": header}
    return Request(body=body, headers=headers)


def test_signed_delivery_is_accepted_with_composite_id() -> None:
    """A delivery verifies; the id is ``{event}:{payload.uri}`` and the type body ``event``."""
    verifier = build_verifier("calendly", (SECRET,), None, {})

    verified = verifier.verify(calendly_request(BODY, f"t={T},v1={v1(SECRET, T, BODY)}"), NOW)

    assert Verified(event_id=f"invitee.created:{INVITEE}", event_type="invitee.created") == (
        verified
    )


def test_body_without_uri_has_no_id() -> None:
    """Without ``payload.uri`` there is no id, and the gateway falls back to the body hash."""
    body = b'{"event": "invitee.canceled", "payload": {}}'
    verifier = build_verifier("calendly", (SECRET,), None, {})

    verified = verifier.verify(calendly_request(body, f"t={T},v1={v1(SECRET, T, body)}"), NOW)

    assert Verified(event_type="invitee.canceled") == verified


def test_second_secret_matches() -> None:
    """With two signing keys listed, a delivery signed with the second one passes."""
    verifier = build_verifier("calendly", ("old-key", SECRET), None, {})

    verified = verifier.verify(calendly_request(BODY, f"t={T},v1={v1(SECRET, T, BODY)}"), NOW)

    assert Verified(event_id=f"invitee.created:{INVITEE}", event_type="invitee.created") == (
        verified
    )


@pytest.mark.parametrize(
    ("age_s", "error"),
    [(180, None), (181, TimestampOutOfToleranceError), (-3_600, None)],
    ids=["edge-of-window", "too-old", "future-accepted"],
)
def test_window_is_180_s_and_one_sided(age_s: int, error: type[VerificationError] | None) -> None:
    """Old timestamps are refused past three minutes; future ones are not."""
    timestamp = T - age_s
    request = calendly_request(BODY, f"t={timestamp},v1={v1(SECRET, timestamp, BODY)}")
    verifier = build_verifier("calendly", (SECRET,), None, {})

    if error is None:
        verifier.verify(request, NOW)
    else:
        with pytest.raises(error):
            verifier.verify(request, NOW)


GOOD = v1(SECRET, T, BODY)


@pytest.mark.parametrize(
    ("body", "header", "error"),
    [
        (BODY, None, MissingHeaderError),
        (BODY, "sha256=abc", MalformedRequestError),
        (BODY, f"t=yesterday,v1={GOOD}", MalformedRequestError),
        (BODY, f"t={T},v1=not-hex", MalformedRequestError),
        (BODY, f"t={T},v0={GOOD}", UnsupportedVersionError),
        (BODY.replace(b"active", b"canceled"), f"t={T},v1={GOOD}", SignatureMismatchError),
        (BODY, f"t={T},v1={v1('wrong-key', T, BODY)}", SignatureMismatchError),
    ],
    ids=[
        "missing",
        "junk",
        "timestamp-not-a-number",
        "signature-not-hex",
        "no-v1",
        "tampered-body",
        "wrong-secret",
    ],
)
def test_refusals(body: bytes, header: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("calendly", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(calendly_request(body, header), NOW)
