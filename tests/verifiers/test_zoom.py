"""Zoom preset: stdlib-signed events, URL validation keyed by the matching secret, refusals."""

from __future__ import annotations

import hashlib
import hmac

import orjson
import pytest

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    VerificationError,
    Verified,
    build_verifier,
    find_preset,
)

NOW = 1_700_000_000.0
TS = str(int(NOW))
SECRET = "zoom-secret-token"
EVENT = (
    b'{"event": "meeting.started", "event_ts": 1700000000123,'
    b' "payload": {"account_id": "AAAAAA", "object": {"id": "1234567890", "uuid": "4444AAA"}}}'
)
VALIDATION = (
    b'{"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": 1654503849680,'
    b' "event": "endpoint.url_validation"}'
)


def v0(secret: str, timestamp: str, body: bytes) -> str:
    """Zoom's ``v0=`` signature of ``v0:{ts}:{body}``, computed with the stdlib."""
    message = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def zoom_request(body: bytes, signature: str | None, timestamp: str | None = TS) -> Request:
    """A Zoom request with the given signature and timestamp headers."""
    headers = {"x-zm-trackingid": "v=2.0,clid=us05,rid=WEB_abc"}
    if signature is not None:
        headers["x-zm-signature"] = signature
    if timestamp is not None:
        headers["x-zm-request-timestamp"] = timestamp
    return Request(body=body, headers=headers)


def test_signed_event_is_accepted_with_type_and_no_id() -> None:
    """An event verifies; its type is body ``event`` and its id is left to the body hash."""
    verifier = build_verifier("zoom", (SECRET,), None, {})

    verified = verifier.verify(zoom_request(EVENT, v0(SECRET, TS, EVENT)), NOW)

    assert Verified(event_type="meeting.started") == verified


def test_stored_events_are_answered_200() -> None:
    """Zoom accepts only 200 or 204, so the preset asks the gateway for 200."""
    assert find_preset("zoom").accepted_status in {200, 204}


@pytest.mark.parametrize("signing_secret", ["old-token", SECRET], ids=["first", "second"])
def test_url_validation_uses_the_secret_that_verified(signing_secret: str) -> None:
    """``encryptedToken`` is the hex HMAC of ``plainToken`` under the secret that matched."""
    verifier = build_verifier("zoom", ("old-token", SECRET), None, {})
    request = zoom_request(VALIDATION, v0(signing_secret, TS, VALIDATION))

    handshake = verifier.verify(request, NOW).handshake

    assert handshake is not None
    token = hmac.new(signing_secret.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256)
    assert (200, {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": token.hexdigest()}) == (
        handshake.status,
        orjson.loads(handshake.body),
    )


@pytest.mark.parametrize(
    ("body", "signing_secret", "error"),
    [
        (VALIDATION, "someone-else", SignatureMismatchError),
        (b'{"event": "endpoint.url_validation", "payload": {}}', SECRET, MissingHeaderError),
    ],
    ids=["unsigned", "no-plain-token"],
)
def test_url_validation_refusals(
    body: bytes, signing_secret: str, error: type[VerificationError]
) -> None:
    """No token is answered unless the request is signed and carries one."""
    verifier = build_verifier("zoom", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(zoom_request(body, v0(signing_secret, TS, body)), NOW)


@pytest.mark.parametrize(
    ("age_s", "error"),
    [
        (300, None),
        (301, TimestampOutOfToleranceError),
        (-300, None),
        (-301, TimestampOutOfToleranceError),
    ],
    ids=["old-edge", "too-old", "future-edge", "too-far-ahead"],
)
def test_window_is_300_s_both_ways(age_s: int, error: type[VerificationError] | None) -> None:
    """Timestamps more than five minutes away, either way, are refused."""
    timestamp = str(int(NOW) - age_s)
    request = zoom_request(EVENT, v0(SECRET, timestamp, EVENT), timestamp)
    verifier = build_verifier("zoom", (SECRET,), None, {})

    if error is None:
        verifier.verify(request, NOW)
    else:
        with pytest.raises(error):
            verifier.verify(request, NOW)


GOOD = v0(SECRET, TS, EVENT)


@pytest.mark.parametrize(
    ("body", "signature", "timestamp", "error"),
    [
        (EVENT, None, TS, MissingHeaderError),
        (EVENT, GOOD, None, MissingHeaderError),
        (EVENT, "sha256=" + GOOD[3:], TS, MalformedRequestError),
        (EVENT, "v0=not-hex", TS, MalformedRequestError),
        (EVENT, GOOD, "2023-11-14", MalformedRequestError),
        (EVENT, GOOD, "--5", MalformedRequestError),
        (EVENT.replace(b"started", b"ended"), GOOD, TS, SignatureMismatchError),
        (EVENT, v0("wrong-token", TS, EVENT), TS, SignatureMismatchError),
    ],
    ids=[
        "missing-signature",
        "missing-timestamp",
        "wrong-prefix",
        "not-hex",
        "timestamp-not-a-number",
        "timestamp-double-minus",
        "tampered-body",
        "wrong-secret",
    ],
)
def test_refusals(
    body: bytes, signature: str | None, timestamp: str | None, error: type[VerificationError]
) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("zoom", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(zoom_request(body, signature, timestamp), NOW)
