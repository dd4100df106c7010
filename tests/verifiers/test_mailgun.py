"""Mailgun preset: in-body signatures the SDK's SecurityGuard accepts, and refusals."""

from __future__ import annotations

import hashlib
import hmac

import orjson
import pytest
from mailgun.security import SecurityGuard

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    VerificationError,
    build_verifier,
)

NOW = 1_700_000_000
KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
OLD_KEY = "key-previous00000000000000000000000"
TOKEN = "e5f6bd1c3a4b2d0f8e7c9a6b5d4c3b2a1f0e9d8c7b6a5f4e3d"
EVENT = {"id": "CPgfbmQMTCKtHW6uIWtuVe", "event": "delivered", "recipient": "alice@example.com"}


def hmac_hex(key: str, timestamp: object, token: str) -> str:
    """Mailgun's signature: hex HMAC-SHA256 of timestamp + token (stdlib, no SDK signer)."""
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def mailgun_body(timestamp: object = str(NOW), key: str = KEY, **signature: object) -> bytes:
    """A Mailgun JSON webhook body; ``signature`` overrides fields of its signature block."""
    block = {
        "timestamp": timestamp,
        "token": TOKEN,
        "signature": hmac_hex(key, timestamp, TOKEN),
    } | signature
    return orjson.dumps({"signature": block, "event-data": EVENT})


def verify(
    body: bytes, now: int = NOW, secrets: tuple[str, ...] = (KEY,)
) -> tuple[str | None, ...]:
    """Run the mailgun preset over ``body`` and return (id, type)."""
    verified = build_verifier("mailgun", secrets, None, {}).verify(
        Request(body=body, headers={}), now
    )
    return verified.event_id, verified.event_type


def test_signed_body_is_accepted_and_the_sdk_agrees() -> None:
    """A signed event verifies with id/type from ``event-data``; SecurityGuard agrees."""
    block = orjson.loads(mailgun_body())["signature"]

    assert ("CPgfbmQMTCKtHW6uIWtuVe", "delivered") == verify(mailgun_body())
    assert SecurityGuard.verify_webhook(
        KEY, block["token"], block["timestamp"], block["signature"], max_age_seconds=0
    )


def test_numeric_timestamp_and_rotation() -> None:
    """A JSON number timestamp works, and the second listed key is tried."""
    assert "delivered" == verify(mailgun_body(NOW), secrets=(OLD_KEY, KEY))[1]


@pytest.mark.parametrize(
    ("now", "error"),
    [
        (NOW + 300, None),
        (NOW - 300, None),
        (NOW + 301, TimestampOutOfToleranceError),
        (NOW - 301, TimestampOutOfToleranceError),
    ],
    ids=["300s-old", "300s-ahead", "too-old", "too-new"],
)
def test_tolerance_is_300s_both_ways(now: int, error: type[VerificationError] | None) -> None:
    """Like the SDK's ``abs(now - ts)`` check, 300 s either way is the limit."""
    if error is None:
        verify(mailgun_body(), now)
    else:
        with pytest.raises(error):
            verify(mailgun_body(), now)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (mailgun_body(token="a-different-token-value"), SignatureMismatchError),
        (
            mailgun_body(timestamp=str(NOW), signature=hmac_hex(KEY, NOW + 1, TOKEN)),
            SignatureMismatchError,
        ),
        (mailgun_body(key=OLD_KEY), SignatureMismatchError),
        (mailgun_body(signature="not hex"), MalformedRequestError),
        (mailgun_body(timestamp="soon"), MalformedRequestError),
        (mailgun_body(timestamp=1.7e9), MalformedRequestError),
        (mailgun_body(signature=None), MissingHeaderError),
        (mailgun_body(token=["a", "list"]), MissingHeaderError),
        (orjson.dumps({"event-data": EVENT}), MissingHeaderError),
        (b"timestamp=1&token=t&signature=00", MalformedRequestError),
        (b"[1, 2]", MalformedRequestError),
        (b"\xff\xfe", MalformedRequestError),
    ],
    ids=[
        "tampered-token",
        "tampered-timestamp",
        "wrong-key",
        "not-hex",
        "non-numeric-timestamp",
        "float-timestamp",
        "missing-signature",
        "token-not-scalar",
        "no-signature-block",
        "form-body",
        "array-body",
        "not-utf8",
    ],
)
def test_refusals(body: bytes, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    with pytest.raises(error):
        verify(body)
