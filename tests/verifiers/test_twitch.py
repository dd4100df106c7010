"""Twitch EventSub preset: stdlib-signed messages, the challenge, revocations, refusals."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers import (
    Handshake,
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
TIMESTAMP = "2023-11-14T22:13:20.123456789Z"  # NOW + 0.123456789 s, with nanoseconds
SECRET = "twitch-subscription-secret"
MESSAGE_ID = "befa7b53-d79d-478f-86b9-120f112b044e"
NOTIFICATION = (
    b'{"subscription": {"id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "type": "channel.follow",'
    b' "version": "2"}, "event": {"user_id": "1337", "broadcaster_user_id": "1337"}}'
)
CHALLENGE = (
    b'{"challenge": "pogchamp-kappa-360noscope-vohiyo", "subscription": {"id":'
    b' "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "status": "webhook_callback_verification_pending",'
    b' "type": "channel.follow", "version": "2"}}'
)


def signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """Twitch's ``sha256=`` hex HMAC of id + timestamp + body, computed with the stdlib."""
    message = message_id.encode() + timestamp.encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def twitch_request(
    body: bytes,
    message_type: str = "notification",
    timestamp: str = TIMESTAMP,
    secret: str = SECRET,
    **overrides: str | None,
) -> Request:
    """A Twitch message signed with ``secret``; ``overrides`` replace (None: drop) headers."""
    headers: dict[str, str | None] = {
        "twitch-eventsub-message-id": MESSAGE_ID,
        "twitch-eventsub-message-retry": "0",
        "twitch-eventsub-message-type": message_type,
        "twitch-eventsub-message-timestamp": timestamp,
        "twitch-eventsub-message-signature": signature(secret, MESSAGE_ID, timestamp, body),
        "twitch-eventsub-subscription-type": "channel.follow",
        "twitch-eventsub-subscription-version": "2",
    }
    headers.update({name.replace("_", "-"): value for name, value in overrides.items()})
    return Request(body=body, headers={k: v for k, v in headers.items() if v is not None})


@pytest.mark.parametrize("secrets", [(SECRET,), ("old-secret", SECRET)], ids=["one", "rotated"])
def test_notification_is_accepted_with_id_and_subscription_type(secrets: tuple[str, ...]) -> None:
    """A notification verifies, also with its secret listed second; id and type from headers."""
    verifier = build_verifier("twitch", secrets, None, {})

    verified = verifier.verify(twitch_request(NOTIFICATION), NOW)

    assert Verified(event_id=MESSAGE_ID, event_type="channel.follow") == verified


def test_revocation_is_stored_as_a_revocation() -> None:
    """A revocation keeps its message id but is typed ``revocation``, not as the revoked event."""
    verifier = build_verifier("twitch", (SECRET,), None, {})

    verified = verifier.verify(twitch_request(NOTIFICATION, "revocation"), NOW)

    assert Verified(event_id=MESSAGE_ID, event_type="revocation") == verified


def test_callback_verification_echoes_the_raw_challenge() -> None:
    """A signed ``webhook_callback_verification`` is answered 200 text/plain with the challenge."""
    verifier = build_verifier("twitch", (SECRET,), None, {})

    verified = verifier.verify(twitch_request(CHALLENGE, "webhook_callback_verification"), NOW)

    assert (
        Verified(
            handshake=Handshake(
                status=200, body=b"pogchamp-kappa-360noscope-vohiyo", content_type="text/plain"
            )
        )
        == verified
    )


@pytest.mark.parametrize(
    ("body", "secret", "error"),
    [
        (CHALLENGE, "someone-else", SignatureMismatchError),
        (b'{"subscription": {}}', SECRET, MissingHeaderError),
        (b"pogchamp", SECRET, MissingHeaderError),
    ],
    ids=["unsigned", "no-challenge", "not-json"],
)
def test_callback_verification_refusals(
    body: bytes, secret: str, error: type[VerificationError]
) -> None:
    """No challenge is echoed unless the request is signed and carries one."""
    verifier = build_verifier("twitch", (SECRET,), None, {})
    request = twitch_request(body, "webhook_callback_verification", secret=secret)

    with pytest.raises(error):
        verifier.verify(request, NOW)


@pytest.mark.parametrize(
    ("timestamp", "error"),
    [
        ("2023-11-14T22:03:20.123Z", None),
        ("2023-11-14T22:03:19Z", TimestampOutOfToleranceError),
        ("2023-11-14T23:13:20.000000001+01:00", None),
        ("2023-11-14T23:03:19-00:00", None),
        ("2023-11-15T22:13:20Z", None),
        ("2023-11-14t22:13:20z", None),
    ],
    ids=[
        "ten-minutes-old",
        "older",
        "offset",
        "negative-offset-future",
        "a-day-ahead",
        "lowercase",
    ],
)
def test_window_is_600_s_for_old_messages_only(
    timestamp: str, error: type[VerificationError] | None
) -> None:
    """Messages older than ten minutes are refused; RFC 3339 offsets and case are understood."""
    request = twitch_request(NOTIFICATION, timestamp=timestamp)
    verifier = build_verifier("twitch", (SECRET,), None, {})

    if error is None:
        verifier.verify(request, NOW)
    else:
        with pytest.raises(error):
            verifier.verify(request, NOW)


GOOD = signature(SECRET, MESSAGE_ID, TIMESTAMP, NOTIFICATION)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"twitch_eventsub_message_signature": None}, MissingHeaderError),
        ({"twitch_eventsub_message_id": None}, MissingHeaderError),
        ({"twitch_eventsub_message_timestamp": None}, MissingHeaderError),
        ({"twitch_eventsub_message_type": None}, MissingHeaderError),
        ({"twitch_eventsub_message_signature": "sha1=" + GOOD[7:]}, MalformedRequestError),
        ({"twitch_eventsub_message_signature": "sha256=zz"}, MalformedRequestError),
        ({"twitch_eventsub_message_timestamp": "1700000000"}, MalformedRequestError),
        ({"twitch_eventsub_message_timestamp": "2023-13-14T22:13:20Z"}, MalformedRequestError),
        ({"twitch_eventsub_message_timestamp": "2023-11-14T22:13:20"}, MalformedRequestError),
        ({"twitch_eventsub_message_id": "b\u00e9fa7b53"}, MalformedRequestError),
        (
            {"twitch_eventsub_message_id": "cafa7b53-d79d-478f-86b9-120f112b044e"},
            SignatureMismatchError,
        ),
        (
            {
                "twitch_eventsub_message_signature": signature(
                    "x", MESSAGE_ID, TIMESTAMP, NOTIFICATION
                )
            },
            SignatureMismatchError,
        ),
    ],
    ids=[
        "missing-signature",
        "missing-id",
        "missing-timestamp",
        "missing-type",
        "wrong-prefix",
        "not-hex",
        "timestamp-unix",
        "timestamp-month-13",
        "timestamp-no-zone",
        "id-not-ascii",
        "tampered-id",
        "wrong-secret",
    ],
)
def test_refusals(overrides: dict[str, str | None], error: type[VerificationError]) -> None:
    """Each broken message is refused with its own typed error."""
    verifier = build_verifier("twitch", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(twitch_request(NOTIFICATION, **overrides), NOW)


def test_tampered_body_is_refused() -> None:
    """A body changed after signing does not verify."""
    request = twitch_request(NOTIFICATION)
    tampered = Request(body=NOTIFICATION.replace(b"1337", b"1338"), headers=request.headers)

    with pytest.raises(SignatureMismatchError):
        build_verifier("twitch", (SECRET,), None, {}).verify(tampered, NOW)


@given(
    message_type=st.sampled_from(["notification", "webhook_callback_verification", "revocation"]),
    message_id=st.text(),
    timestamp=st.one_of(st.text(), st.datetimes().map(lambda at: at.isoformat() + "Z")),
    body=st.binary(),
)
def test_arbitrary_input_only_raises_verification_errors(
    message_type: str, message_id: str, timestamp: str, body: bytes
) -> None:
    """Whatever arrives, even correctly signed, only a ``VerificationError`` can escape."""
    verifier = build_verifier("twitch", (SECRET,), None, {})
    signed = signature(SECRET, message_id, timestamp, body)
    headers = {"twitch_eventsub_message_id": message_id}

    for request in (
        twitch_request(body, message_type, timestamp, **headers),
        twitch_request(
            body, message_type, timestamp, **headers, twitch_eventsub_message_signature=signed
        ),
    ):
        with contextlib.suppress(VerificationError):
            verifier.verify(request, NOW)
