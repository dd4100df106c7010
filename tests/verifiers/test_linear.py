"""Linear preset: stdlib-signed bodies, the signed millisecond timestamp (±60 s), refusals."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

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

NOW = 1_700_000_000.0
NOW_MS = int(NOW * 1000)
SECRET = "lin_wh_secret"
DELIVERY = "234d1a4e-b617-4388-90fe-adc3633d6b72"


def linear_body(timestamp: object = NOW_MS) -> bytes:
    """An ``Issue`` update carrying ``timestamp`` as ``webhookTimestamp``."""
    document = {
        "action": "update",
        "type": "Issue",
        "data": {"id": "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9", "title": "Fix login"},
        "url": "https://linear.app/acme/issue/ENG-1",
        "webhookTimestamp": timestamp,
    }
    # The stdlib writes any int, and NaN/Infinity, which a fuzzed timestamp may be.
    return json.dumps(document).encode()


def signature(secret: str, body: bytes) -> str:
    """Linear's hex HMAC-SHA256 of the body, computed with the stdlib."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def linear_request(body: bytes, header: str | None, event: str | None = "Issue") -> Request:
    """A Linear delivery with the given ``Linear-Signature`` header."""
    headers = {"linear-delivery": DELIVERY}
    if event is not None:
        headers["linear-event"] = event
    if header is not None:
        headers["linear-signature"] = header
    return Request(body=body, headers=headers)


@pytest.mark.parametrize("secrets", [(SECRET,), ("old-secret", SECRET)], ids=["one", "rotated"])
def test_signed_delivery_is_accepted_with_id_and_type(secrets: tuple[str, ...]) -> None:
    """A delivery verifies, also with its secret listed second; id and type from the headers."""
    body = linear_body()
    verifier = build_verifier("linear", secrets, None, {})

    verified = verifier.verify(linear_request(body, signature(SECRET, body)), NOW)

    assert Verified(event_id=DELIVERY, event_type="Issue") == verified


def test_body_type_when_event_header_is_absent() -> None:
    """Without ``Linear-Event`` the type is body ``type``."""
    body = linear_body()
    verifier = build_verifier("linear", (SECRET,), None, {})

    verified = verifier.verify(linear_request(body, signature(SECRET, body), event=None), NOW)

    assert Verified(event_id=DELIVERY, event_type="Issue") == verified


@pytest.mark.parametrize(
    ("offset_ms", "error"),
    [
        (-60_000, None),
        (-60_001, TimestampOutOfToleranceError),
        (60_000, None),
        (60_001, TimestampOutOfToleranceError),
    ],
    ids=["old-edge", "too-old", "future-edge", "too-far-ahead"],
)
def test_window_is_60_s_both_ways(offset_ms: int, error: type[VerificationError] | None) -> None:
    """Like ``@linear/sdk``, a timestamp more than a minute off, either way, is refused."""
    body = linear_body(NOW_MS + offset_ms)
    request = linear_request(body, signature(SECRET, body))
    verifier = build_verifier("linear", (SECRET,), None, {})

    if error is None:
        verifier.verify(request, NOW)
    else:
        with pytest.raises(error):
            verifier.verify(request, NOW)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (linear_body(int(NOW)), TimestampOutOfToleranceError),
        (linear_body(None), MissingHeaderError),
        (linear_body(str(NOW_MS)), MalformedRequestError),
        (linear_body(NOW_MS + 0.5), MalformedRequestError),
        (linear_body(True), MalformedRequestError),
        (linear_body(-1), MalformedRequestError),
        (linear_body(2**64 - 1), MalformedRequestError),
        (b'{"webhookTimestamp": 1e300}', MalformedRequestError),
        (b'{"webhookTimestamp": 123456789012345678901234567890}', MalformedRequestError),
        (b"[1, 2]", MalformedRequestError),
        (b"not json", MalformedRequestError),
    ],
    ids=[
        "seconds-not-ms",
        "missing",
        "string",
        "fraction",
        "boolean",
        "negative",
        "huge-int",
        "huge-float",
        "beyond-64-bits",
        "not-an-object",
        "not-json",
    ],
)
def test_signed_timestamp_refusals(body: bytes, error: type[VerificationError]) -> None:
    """A correctly signed body whose ``webhookTimestamp`` is absent or unusable is refused."""
    verifier = build_verifier("linear", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(linear_request(body, signature(SECRET, body)), NOW)


BODY = linear_body()


@pytest.mark.parametrize(
    ("body", "header", "error"),
    [
        (BODY, None, MissingHeaderError),
        (BODY, "sha256=" + signature(SECRET, BODY), MalformedRequestError),
        (
            BODY.replace(b"Fix login", b"Fix logout"),
            signature(SECRET, BODY),
            SignatureMismatchError,
        ),
        (BODY, signature("wrong", BODY), SignatureMismatchError),
        (linear_body(None), signature("wrong", linear_body(None)), SignatureMismatchError),
    ],
    ids=["missing", "prefixed", "tampered-body", "wrong-secret", "unsigned-without-timestamp"],
)
def test_refusals(body: bytes, header: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error; the signature is checked first."""
    verifier = build_verifier("linear", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(linear_request(body, header), NOW)


@given(header=st.text(), timestamp=st.one_of(st.integers(), st.floats(), st.text(), st.none()))
def test_arbitrary_signed_timestamps_only_raise_verification_errors(
    header: str, timestamp: object
) -> None:
    """Whatever the (signed) timestamp or header, only a ``VerificationError`` can escape."""
    body = linear_body(timestamp)
    verifier = build_verifier("linear", (SECRET,), None, {})

    for candidate in (header, signature(SECRET, body)):
        with contextlib.suppress(VerificationError):
            verifier.verify(linear_request(body, candidate), NOW)
