"""Intercom preset: stdlib ``sha1=`` hex signatures, rotation, refusals."""

from __future__ import annotations

import hmac

import pytest

from verifiers import (
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    VerificationError,
    Verified,
    build_verifier,
)

NOW = 1_700_000_000.0
SECRET = "intercom-client-secret"
BODY = (
    b'{"type": "notification_event", "app_id": "abc123", "topic": "user.created",'
    b' "id": "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3", "data": {"item": {"type": "user"}}}'
)


def signature(secret: str, body: bytes) -> str:
    """Intercom's ``sha1=`` + hex HMAC-SHA1 of the body, computed with the stdlib."""
    return "sha1=" + hmac.new(secret.encode(), body, "sha1").hexdigest()


def intercom_request(body: bytes, header: str | None) -> Request:
    """An Intercom notification with the given ``X-Hub-Signature`` header."""
    headers = {} if header is None else {"x-hub-signature": header}
    return Request(body=body, headers=headers)


@pytest.mark.parametrize("secrets", [(SECRET,), ("old-secret", SECRET)], ids=["one", "rotated"])
def test_signed_notification_is_accepted_with_id_and_topic(secrets: tuple[str, ...]) -> None:
    """A notification verifies, also with its secret listed second; id and topic from the body."""
    verifier = build_verifier("intercom", secrets, None, {})

    verified = verifier.verify(intercom_request(BODY, signature(SECRET, BODY)), NOW)

    assert (
        Verified(event_id="notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3", event_type="user.created")
        == verified
    )


@pytest.mark.parametrize(
    ("body", "header", "error"),
    [
        (BODY, None, MissingHeaderError),
        (
            BODY,
            "sha256=" + hmac.new(SECRET.encode(), BODY, "sha256").hexdigest(),
            MalformedRequestError,
        ),
        (BODY, signature(SECRET, BODY)[5:], MalformedRequestError),
        (BODY, "sha1=not-hex", MalformedRequestError),
        (
            BODY.replace(b"user.created", b"user.deleted"),
            signature(SECRET, BODY),
            SignatureMismatchError,
        ),
        (BODY, signature("wrong", BODY), SignatureMismatchError),
    ],
    ids=["missing", "sha256", "no-prefix", "not-hex", "tampered-body", "wrong-secret"],
)
def test_refusals(body: bytes, header: str | None, error: type[VerificationError]) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("intercom", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(intercom_request(body, header), NOW)
