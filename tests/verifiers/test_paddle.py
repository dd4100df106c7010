"""Paddle preset: paddle-python-sdk's vector and signer, its 5 s two-way window, refusals."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from paddle_billing.Notifications import PaddleSignature, Secret, Verifier

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    VerificationError,
    Verified,
    build_verifier,
)

# paddle-python-sdk tests/Unit/Notification/test_Verifier.py: a junk h1 beside the real one.
SDK_SECRET = "pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh"
SDK_HEADER = (
    "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"
)
SDK_TS = 1696195954

NOW = float(SDK_TS)
SECRET = "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_GrOWLNef+vmtjJYq4mSnHNzvc8uWoJ1I"
BODY = (
    b'{"event_id": "evt_01hv8x2acma2gz3he3gw6hq2np", "event_type": "transaction.completed",'
    b' "occurred_at": "2023-10-01T21:32:34.000Z", "notification_id": "ntf_01hv8x2af"}'
)


def h1(secret: str, timestamp: int, body: bytes) -> str:
    """paddle-python-sdk's own HMAC of ``{ts}:{body}``, hex."""
    return PaddleSignature.calculate_hmac(secret, f"{timestamp}:".encode() + body).hexdigest()


def paddle_request(body: bytes, header: str | None) -> Request:
    """A Paddle notification with the given ``Paddle-Signature`` header."""
    headers = {} if header is None else {"paddle-signature": header}
    return Request(body=body, headers=headers)


def test_sdk_vector_is_accepted() -> None:
    """The SDK's test vector (two h1, one junk) verifies; its body is not JSON, so no id."""
    verifier = build_verifier("paddle", (SDK_SECRET,), None, {})

    assert Verified() == verifier.verify(paddle_request(b"hello-world", SDK_HEADER), NOW)


def test_sdk_signature_is_accepted_with_id_and_type_under_rotation() -> None:
    """A header signed by the SDK with the second secret yields body ``event_id``/``event_type``."""
    verifier = build_verifier("paddle", (SDK_SECRET, SECRET), None, {})
    header = f"ts={SDK_TS};h1={h1(SECRET, SDK_TS, BODY)}"

    verified = verifier.verify(paddle_request(BODY, header), NOW)

    assert (
        Verified(event_id="evt_01hv8x2acma2gz3he3gw6hq2np", event_type="transaction.completed")
        == verified
    )


@pytest.mark.parametrize("age_s", [-6, -5, 0, 5, 6])
def test_window_matches_the_sdk_verifier(age_s: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Verifier(maximum_variance=5)`` and the preset refuse the same timestamps, both ways."""
    sdk_module = importlib.import_module("paddle_billing.Notifications.Verifier")
    monkeypatch.setattr(sdk_module, "time", lambda: NOW)
    monkeypatch.delenv("TEST_MODE", raising=False)
    timestamp = SDK_TS - age_s
    header = f"ts={timestamp};h1={h1(SECRET, timestamp, BODY)}"
    sdk_request = SimpleNamespace(headers={"Paddle-Signature": header}, body=BODY)
    sdk_accepts = Verifier(maximum_variance=5).verify(sdk_request, Secret(SECRET))
    verifier = build_verifier("paddle", (SECRET,), None, {})

    try:
        verifier.verify(paddle_request(BODY, header), NOW)
    except TimestampOutOfToleranceError:
        accepted = False
    else:
        accepted = True

    assert sdk_accepts == accepted


GOOD = h1(SECRET, SDK_TS, BODY)


@pytest.mark.parametrize(
    ("body", "header", "error"),
    [
        (BODY, None, MissingHeaderError),
        (BODY, f"h1={GOOD}", MalformedRequestError),
        (BODY, f"ts={SDK_TS};ts={SDK_TS};h1={GOOD}", MalformedRequestError),
        (BODY, f"ts={SDK_TS}", MalformedRequestError),
        (BODY, f"ts={SDK_TS};h2={GOOD}", MalformedRequestError),
        (BODY, f"ts=now;h1={GOOD}", MalformedRequestError),
        (BODY, f"ts=--5;h1={GOOD}", MalformedRequestError),
        (BODY, f"ts={SDK_TS};h1=dummy", MalformedRequestError),
        (BODY + b"\n", f"ts={SDK_TS};h1={GOOD}", SignatureMismatchError),
        (BODY, f"ts={SDK_TS + 1};h1={GOOD}", SignatureMismatchError),
        (BODY, f"ts={SDK_TS};h1={h1('pdl_ntfset_wrong', SDK_TS, BODY)}", SignatureMismatchError),
    ],
    ids=[
        "missing",
        "no-timestamp",
        "two-timestamps",
        "no-signature",
        "unknown-key",
        "timestamp-not-a-number",
        "timestamp-double-minus",
        "only-junk-signature",
        "tampered-body",
        "tampered-timestamp",
        "wrong-secret",
    ],
)
def test_refusals(body: bytes, header: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("paddle", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(paddle_request(body, header), NOW)
