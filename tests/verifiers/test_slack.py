"""Slack preset: the docs vector, slack-sdk signatures and window, url_verification, refusals."""

from __future__ import annotations

import contextlib

import orjson
import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from verifiers import (
    Handshake,
    MalformedRequestError,
    MissingHeaderError,
    Request,
    SignatureMismatchError,
    TimestampOutOfToleranceError,
    VerificationError,
    Verified,
    Verifier,
    build_verifier,
)

NOW = 1_700_000_000.0
TS = str(int(NOW))
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EVENT = (
    b'{"token": "z26uFbvR1xHJEdHE1OQiO6t8", "team_id": "T061EG9RZ", "type": "event_callback",'
    b' "event": {"type": "app_mention", "text": "hi"}, "event_id": "Ev0PV52K21"}'
)

# Slack's published example (docs, mirrored in slack-sdk's tests).
DOCS_TS = "1531420618"
DOCS_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
    b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOCS_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FrozenClock(Clock):
    """slack-sdk's clock, stopped at ``at``."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        """The frozen time."""
        return self.at


def slack_signer(secret: str = SECRET) -> SignatureVerifier:
    """slack-sdk's signer and verifier, on the tests' frozen clock."""
    return SignatureVerifier(secret, clock=FrozenClock(NOW))


def slack_request(body: bytes, signature: str | None, timestamp: str | None = TS) -> Request:
    """A Slack request with the given signature and timestamp headers."""
    headers = {}
    if signature is not None:
        headers["x-slack-signature"] = signature
    if timestamp is not None:
        headers["x-slack-request-timestamp"] = timestamp
    return Request(body=body, headers=headers)


def test_docs_vector_is_accepted() -> None:
    """Slack's published slash-command example verifies; a form body has no id or type."""
    verifier = build_verifier("slack", (SECRET,), None, {})
    request = slack_request(DOCS_BODY, DOCS_SIGNATURE, DOCS_TS)

    assert Verified() == verifier.verify(request, float(DOCS_TS) + 60)


def test_slack_sdk_signature_is_accepted_with_id_and_type() -> None:
    """An Events API callback signed by slack-sdk yields ``event_id`` and ``event.type``."""
    signature = slack_signer().generate_signature(timestamp=TS, body=EVENT)
    verifier = build_verifier("slack", ("old-secret", SECRET), None, {})

    verified = verifier.verify(slack_request(EVENT, signature), NOW)

    assert Verified(event_id="Ev0PV52K21", event_type="app_mention") == verified


@pytest.mark.parametrize("age_s", [-301, -300, 0, 300, 301])
def test_window_matches_slack_sdk_both_ways(age_s: int) -> None:
    """The preset accepts exactly the timestamps slack-sdk's ``is_valid`` accepts (``abs``)."""
    timestamp = str(int(NOW) - age_s)
    signature = slack_signer().generate_signature(timestamp=timestamp, body=EVENT)
    sdk_accepts = slack_signer().is_valid(EVENT, timestamp, signature)
    verifier = build_verifier("slack", (SECRET,), None, {})

    try:
        verifier.verify(slack_request(EVENT, signature, timestamp), NOW)
    except TimestampOutOfToleranceError:
        accepted = False
    else:
        accepted = True

    assert sdk_accepts == accepted


def test_url_verification_is_answered_after_verifying() -> None:
    """A signed ``url_verification`` gets a 200 JSON echo of its challenge."""
    body = (
        b'{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "url_verification",'
        b' "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}'
    )
    signature = slack_signer().generate_signature(timestamp=TS, body=body)
    verifier = build_verifier("slack", (SECRET,), None, {})

    handshake = verifier.verify(slack_request(body, signature), NOW).handshake

    assert (
        Handshake(
            status=200,
            body=orjson.dumps(
                {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
            ),
            content_type="application/json",
        )
        == handshake
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"type": "url_verification", "challenge": "abc"}', SignatureMismatchError),
        (b'{"type": "url_verification"}', MissingHeaderError),
    ],
    ids=["unsigned", "no-challenge"],
)
def test_url_verification_refusals(body: bytes, error: type[VerificationError]) -> None:
    """No challenge is echoed unless the request is signed and carries one."""
    signature = (
        slack_signer("someone-else").generate_signature(timestamp=TS, body=body)
        if error is SignatureMismatchError
        else slack_signer().generate_signature(timestamp=TS, body=body)
    )
    verifier = build_verifier("slack", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(slack_request(body, signature), NOW)


GOOD = slack_signer().generate_signature(timestamp=TS, body=EVENT)


@pytest.mark.parametrize(
    ("body", "signature", "timestamp", "error"),
    [
        (EVENT, None, TS, MissingHeaderError),
        (EVENT, GOOD, None, MissingHeaderError),
        (EVENT, "v1=" + str(GOOD)[3:], TS, MalformedRequestError),
        (EVENT, "v0=xyz", TS, MalformedRequestError),
        (EVENT, GOOD, "now", MalformedRequestError),
        (EVENT, GOOD, "--5", MalformedRequestError),
        (EVENT, GOOD, "1" * 30, MalformedRequestError),
        (EVENT + b"\n", GOOD, TS, SignatureMismatchError),
        (EVENT, GOOD, str(int(NOW) + 1), SignatureMismatchError),
        (
            EVENT,
            slack_signer("wrong").generate_signature(timestamp=TS, body=EVENT),
            TS,
            SignatureMismatchError,
        ),
    ],
    ids=[
        "missing-signature",
        "missing-timestamp",
        "wrong-version",
        "not-hex",
        "timestamp-not-a-number",
        "timestamp-double-minus",
        "timestamp-huge",
        "tampered-body",
        "tampered-timestamp",
        "wrong-secret",
    ],
)
def test_refusals(
    body: bytes, signature: str | None, timestamp: str | None, error: type[VerificationError]
) -> None:
    """Each broken request is refused with its own typed error."""
    verifier = build_verifier("slack", (SECRET,), None, {})

    with pytest.raises(error):
        verifier.verify(slack_request(body, signature, timestamp), NOW)


def checks(verifier: Verifier, request: Request) -> None:
    """Run ``verifier`` on ``request``, letting only ``VerificationError`` pass silently."""
    with contextlib.suppress(VerificationError):
        verifier.verify(request, NOW)
